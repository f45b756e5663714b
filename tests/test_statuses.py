import pytest

from ciapp.statuses import (
    DONE_STATUSES,
    FAILED_STATUSES,
    RUNNING_STATUSES,
    CalculatedStatus,
    JobErrorKind,
    JobStatus,
    RunnerStatus,
    calculate_status,
)

C = CalculatedStatus
R = RunnerStatus
J = JobStatus
E = JobErrorKind


@pytest.mark.parametrize(
    "job_status, error_kind, runners, expected",
    [
        (J.NEW, E.NONE, [], C.NEW),
        (J.ERROR, E.LAYERFILE, [], C.BAD_LAYERFILE),
        (J.ERROR, E.INTERNAL, [], C.JOB_ERROR),
        (J.STARTING_RUNNERS, E.NONE, [], C.STARTING_RUNNERS),
        (J.STARTING_RUNNERS, E.NONE, [R.FAILURE], C.STARTING_RUNNERS),
        (J.SEE_RUNNERS, E.NONE, [R.SUCCESS, R.FAILURE], C.FAILURE),
        # FAILURE outranks everything else.
        (J.SEE_RUNNERS, E.NONE, [R.CANCELLED, R.ERROR, R.FAILURE], C.FAILURE),
        (J.SEE_RUNNERS, E.NONE, [R.RUNNING, R.FAILURE], C.FAILURE),
        # then CANCELLED, then ERROR
        (J.SEE_RUNNERS, E.NONE, [R.ERROR, R.CANCELLED], C.RUNNER_CANCELLED),
        (J.SEE_RUNNERS, E.NONE, [R.RUNNING, R.CANCELLED], C.RUNNER_CANCELLED),
        (J.SEE_RUNNERS, E.NONE, [R.SUCCESS, R.ERROR], C.RUNNER_ERROR),
        (J.SEE_RUNNERS, E.NONE, [R.NEW, R.ERROR], C.RUNNER_ERROR),
        # then anything still going
        (J.SEE_RUNNERS, E.NONE, [R.SUCCESS, R.NEW], C.RUNNING),
        (J.SEE_RUNNERS, E.NONE, [R.SUCCESS, R.WAITING_PARENTS], C.RUNNING),
        (J.SEE_RUNNERS, E.NONE, [R.RUNNING], C.RUNNING),
        (J.SEE_RUNNERS, E.NONE, [R.SUCCESS, R.SUCCESS], C.SUCCEEDED),
        (J.SEE_RUNNERS, E.NONE, [], C.SUCCEEDED),
    ],
)
def test_it_derives_the_calculated_status(job_status, error_kind, runners, expected):
    assert calculate_status(job_status, error_kind, runners) == expected


def test_it_accepts_plain_strings():
    assert calculate_status("SEE_RUNNERS", "", ["SUCCESS"]) == C.SUCCEEDED


def test_the_groupings_partition_the_statuses():
    assert RUNNING_STATUSES | DONE_STATUSES == set(CalculatedStatus)
    assert not RUNNING_STATUSES & DONE_STATUSES
    assert FAILED_STATUSES <= DONE_STATUSES
    assert RUNNING_STATUSES == {C.NEW, C.STARTING_RUNNERS, C.RUNNING}
    assert FAILED_STATUSES == {C.JOB_ERROR, C.BAD_LAYERFILE, C.FAILURE, C.RUNNER_ERROR}

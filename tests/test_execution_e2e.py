"""Runs that run: real git repositories, the real API and real workers."""

import json
import time
from pathlib import Path

import pytest

from ciapp.models import Job, RepositorySecret, Runner, Step
from ciapp.statuses import (
    RUNNER_ACTIVE_STATUSES,
    RUNNING_STATUSES,
    StepStatus,
)
from tests.workers import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

BASE = "FROM vm/ubuntu:22.04\n"


@pytest.fixture
def worker(workers):
    return workers.start()


@pytest.fixture
def start(client, token, repository, source):
    """Commit Layerfiles on a branch of its own and start a run of it."""
    branches = iter(range(1000))

    def start(files, **fields):
        branch = f"case-{next(branches)}"
        source.checkout("master")
        source.branch(branch)
        source.git("rm", "-q", "Layerfile")
        source.commit(f"Layerfiles for {branch}", files)
        r = client.post(
            f"/api/v1/run/webapp?token={token}",
            json.dumps({"branch": branch, **fields}),
            content_type="application/json",
        )
        assert r.status_code == 200, r.json()
        return Job.objects.get(number=r.json()["job"]["id"])

    return start


def finished(job, timeout=30):
    """Wait until the job's outcome is known and none of its runners is active.

    (A job is FAILURE as soon as one runner fails, while others may still be
    ending.)
    """

    def done():
        job.refresh_from_db()
        active = job.runners.filter(
            was_retried=False, status__in=RUNNER_ACTIVE_STATUSES
        )
        return job.calculated_status not in RUNNING_STATUSES and not active.exists()

    wait_for(done, timeout, f"job {job.number} to finish")
    return job


def runner(job, path="Layerfile", index=1):
    return Runner.objects.get(job=job, layerfile_path=path, index=index)


def log(job, path="Layerfile", index=1):
    return "".join(s.log for s in runner(job, path, index).steps.order_by("position"))


def test_a_passing_layerfile_succeeds(worker, start):
    job = finished(start({"Layerfile": BASE + "RUN echo hello\nRUN echo world >&2\n"}))

    assert job.calculated_status == "SUCCEEDED", log(job)
    assert job.status == "SEE_RUNNERS"
    r = runner(job)
    assert (r.status, r.name, r.runner_id) == (
        "SUCCESS",
        "main-layerfile",
        "main-layerfile",
    )
    steps = list(r.steps.order_by("position"))
    assert [s.status for s in steps] == ["SUCCESS"] * 3
    assert [s.line for s in steps] == [1, 2, 3]
    assert steps[1].log == "hello\n" and steps[2].log == "world\n"
    assert job.finished_at and job.started_at


def test_a_red_step_fails_the_run(worker, start):
    job = finished(
        start(
            {"Layerfile": BASE + "RUN true\nRUN echo broken; exit 3\nRUN echo never\n"}
        )
    )

    assert job.calculated_status == "FAILURE"
    steps = list(runner(job).steps.order_by("position"))
    assert [s.status for s in steps] == ["SUCCESS", "SUCCESS", "FAILURE", "SKIPPED"]
    assert steps[2].exit_code == 3
    assert "broken" in steps[2].log and "exited with status 3" in steps[2].log


def test_a_bad_layerfile_names_the_file_and_line(worker, start):
    job = finished(start({"Layerfile": BASE + "RUN true\nEXPOSE 3000\n"}))

    assert (job.status, job.calculated_status) == ("ERROR", "BAD_LAYERFILE")
    assert job.error_message.startswith(
        "Layerfile:3: not an instruction: 'EXPOSE 3000'"
    )
    assert not job.runners.exists()


def test_no_layerfile_is_a_bad_layerfile(worker, start):
    job = finished(start({"README.md": "nothing to run\n"}))

    assert job.calculated_status == "BAD_LAYERFILE"
    assert "There is no file named Layerfile" in job.error_message


def test_the_build_environment(worker, start, repository):
    script = "RUN env | grep -E '^(CI|GIT_|JOB_ID|RUNNER_ID|RETRY_INDEX|REPOSITORY_|ORGANIZATION_NAME|API_EXTRA|SPLIT)' | sort\n"
    job = finished(start({"Layerfile": BASE + script}, extra="deploy=staging"))

    run_step = runner(job).steps.get(position=2)
    env = dict(line.split("=", 1) for line in run_step.log.splitlines())
    assert env["API_EXTRA"] == "deploy=staging"
    assert env["CI"] == "true"
    assert env["GIT_COMMIT"] == job.commit_sha
    assert env["GIT_SHORT_COMMIT"] == job.commit_sha[:8]
    assert env["GIT_COMMIT_TITLE"] == job.commit_title
    assert env["GIT_BRANCH"] == job.branch
    assert env["JOB_ID"] == str(job.number)
    assert env["RUNNER_ID"] == "main-layerfile"
    assert env["RETRY_INDEX"] == "0"
    assert env["REPOSITORY_NAME"] == "webapp"
    assert env["REPOSITORY_OWNER"] == env["ORGANIZATION_NAME"] == "acme"
    assert (env["SPLIT"], env["SPLIT_NUM"]) == ("0", "1")


def test_instructions_shape_the_shell(worker, start):
    layerfile = BASE + (
        'ENV GREETING=hi NAME="big world"\n'
        "ENV PATH=$HOME/bin:$PATH\n"
        "WORKDIR /app\n"
        "COPY . .\n"
        "COPY data.txt /etc/data/\n"
        "RUN mkdir -p ~/bin && printf '#!/bin/sh\\necho tool ran\\n' > ~/bin/tool && chmod +x ~/bin/tool\n"
        "SETUP FILE /app/setup.sh\n"
        'RUN echo "$GREETING $NAME from $(basename $PWD)"; tool; cat /dev/null; echo $FROM_SETUP\n'
        "RUN ls $HOME/../app/data.txt $HOME/../etc/data/data.txt\n"
        "SKIP REMAINING IF GREETING=hi\n"
        "RUN echo not reached; exit 1\n"
    )
    job = finished(
        start(
            {
                "Layerfile": layerfile,
                "data.txt": "d\n",
                "setup.sh": "export FROM_SETUP=sourced\n",
            }
        )
    )

    assert job.calculated_status == "SUCCEEDED", log(job)
    steps = list(runner(job).steps.order_by("position"))
    assert steps[8].log == "hi big world from app\ntool ran\nsourced\n"
    assert steps[9].status == "SUCCESS"
    assert steps[10].log == "The condition holds: skipping the rest.\n"
    assert steps[11].status == "SKIPPED"


def test_secrets_reach_the_shell_but_not_the_log(worker, start, repository):
    RepositorySecret.objects.create(
        repository=repository, name="DEPLOY_KEY", value="s3cr3t-value"
    )
    job = finished(
        start(
            {
                "Layerfile": BASE
                + "SECRET ENV DEPLOY_KEY\nRUN echo key=$DEPLOY_KEY; test $DEPLOY_KEY = s3cr3t-value\n"
            }
        )
    )

    assert job.calculated_status == "SUCCEEDED"
    assert "s3cr3t-value" not in log(job)
    assert "key=***" in log(job)


def test_a_missing_secret_fails_clearly(worker, start):
    job = finished(start({"Layerfile": BASE + "SECRET ENV NOPE\n"}))

    assert job.calculated_status == "FAILURE"
    assert "NOPE is not set for this repository" in log(job)


def test_from_another_layerfile_starts_from_its_files(worker, start):
    job = finished(
        start(
            {
                "base/Layerfile": BASE
                + "ENV STAGE=built\nRUN echo artifact > ~/artifact.txt\n",
                "tests/e2e/Layerfile": "FROM ../../base/Layerfile\nRUN cat ~/artifact.txt; echo $STAGE\n",
            }
        )
    )

    assert job.calculated_status == "SUCCEEDED", log(job, "tests/e2e/Layerfile")
    child = runner(job, "tests/e2e/Layerfile")
    assert child.name == "tests-e2e"
    assert "artifact\nbuilt\n" in log(job, "tests/e2e/Layerfile")
    assert child.started_at >= runner(job, "base/Layerfile").finished_at


def test_a_failed_parent_ends_its_children(worker, start):
    job = finished(
        start(
            {
                "base/Layerfile": BASE + "RUN exit 1\n",
                "child/Layerfile": "FROM /base/Layerfile\nRUN echo never\n",
                "waiter/Layerfile": BASE + "WAIT /child/Layerfile\nRUN echo never\n",
            }
        )
    )

    assert job.calculated_status == "FAILURE"
    assert runner(job, "child/Layerfile").status == "CANCELLED"
    assert (
        "base/Layerfile (base) ended FAILURE"
        in runner(job, "child/Layerfile").error_message
    )
    assert runner(job, "waiter/Layerfile").status == "CANCELLED"


def test_wait_starts_after_the_other_succeeds(worker, start):
    job = finished(
        start(
            {
                "build/Layerfile": BASE + "RUN sleep 0.5\n",
                "deploy/Layerfile": BASE + "WAIT /build/Layerfile\nRUN true\n",
            }
        )
    )

    assert job.calculated_status == "SUCCEEDED"
    assert (
        runner(job, "deploy/Layerfile").started_at
        >= runner(job, "build/Layerfile").finished_at
    )


def test_split_makes_copies(worker, start):
    job = finished(start({"Layerfile": BASE + "SPLIT 3\nRUN echo $SPLIT/$SPLIT_NUM\n"}))

    assert job.calculated_status == "SUCCEEDED"
    runners = list(job.runners.order_by("index"))
    assert [r.runner_id for r in runners] == [
        "main-layerfile",
        "main-layerfile-2",
        "main-layerfile-3",
    ]
    assert sorted(log(job, index=i).splitlines()[-1] for i in (1, 2, 3)) == [
        "0/3",
        "1/3",
        "2/3",
    ]


def test_cache_is_kept_between_runs(worker, start):
    layerfile = (
        BASE
        + "CACHE ~/.cache/thing\nRUN cat ~/.cache/thing/seen || true; date > ~/.cache/thing/seen\n"
    )
    first = finished(start({"Layerfile": layerfile}))
    second = finished(start({"Layerfile": layerfile}))

    assert "No such file" in log(first)
    first_date = Step.objects.filter(runner__job=first).order_by("position").last()
    assert first_date.status == "SUCCESS"
    assert "No such file" not in log(second)


def test_retry_runs_the_layerfile_again(worker, start, client, token, tmp_path):
    flag = tmp_path / "flag"
    job = finished(
        start({"Layerfile": BASE + f"RUN echo retry=$RETRY_INDEX; test -f {flag}\n"})
    )
    assert job.calculated_status == "FAILURE"

    flag.write_text("now it passes")
    r = client.post(
        f"/api/v1/runners/webapp/{job.uuid}/main-layerfile/retry?token={token}"
    )

    assert r.status_code == 200, r.json()
    assert r.json()["runner"]["id"] == "main-layerfile-2"
    assert finished(job).calculated_status == "SUCCEEDED"
    old, new = job.runners.order_by("index")
    assert (old.was_retried, new.index, new.status) == (True, 2, "SUCCESS")
    assert "retry=0" in log(job, index=1)
    assert "retry=1" in log(job, index=2)


def test_retrying_twice_is_refused(worker, start, client, token):
    job = finished(start({"Layerfile": BASE + "RUN exit 1\n"}))
    url = f"/api/v1/runners/webapp/{job.uuid}/main-layerfile/retry?token={token}"

    assert client.post(url).status_code == 200
    r = client.post(url)
    assert r.status_code == 409
    assert "was retried already" in r.json()["error"]


def _running_step(job):
    def running():
        return Step.objects.filter(
            runner__job=job, status=StepStatus.RUNNING, instruction__startswith="RUN"
        ).first()

    return wait_for(running, 30, "a RUN step to start")


def _processes_of(job):
    return [r for r in job.runners.all() if kill_leftovers_dry(f"{job.uuid}:{r.pk}")]


def kill_leftovers_dry(key):
    marker = f"CI_RUNNER_KEY={key}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\x00"):
                    return True
            except OSError:
                pass
    return False


def test_cancelling_a_job_stops_its_processes(worker, start, client, token):
    job = start({"Layerfile": BASE + "RUN echo started; sleep 60\n"})
    _running_step(job)
    # The step is RUNNING a moment before its shell is started.
    wait_for(lambda: _processes_of(job), 10, "the step's processes to start")

    r = client.post(f"/api/v1/run/webapp/{job.number}/cancel?token={token}")

    assert r.status_code == 200 and r.json()["cancelled_runners"] == 1
    assert finished(job, timeout=15).calculated_status == "RUNNER_CANCELLED"
    wait_for(lambda: not _processes_of(job), 10, "the processes to stop")
    step = Step.objects.get(runner__job=job, position=2)
    assert step.status == "CANCELLED" and "started" in step.log


def test_cancelling_a_runner(worker, start, client, token):
    job = start({"Layerfile": BASE + "RUN sleep 60\n"})
    _running_step(job)

    r = client.post(
        f"/api/v1/runners/webapp/{job.uuid}/main-layerfile/cancel?token={token}"
    )

    assert r.status_code == 200
    assert finished(job, timeout=15).calculated_status == "RUNNER_CANCELLED"
    again = client.post(
        f"/api/v1/runners/webapp/{job.uuid}/main-layerfile/cancel?token={token}"
    )
    assert again.status_code == 409


def test_a_button_waits_until_pressed(worker, start, client, token):
    job = start(
        {
            "Layerfile": BASE
            + "RUN echo before\nBUTTON Deploy to staging?\nRUN echo deployed\n"
        }
    )

    def waiting():
        return Step.objects.filter(
            runner__job=job, instruction__startswith="BUTTON", status="RUNNING"
        ).exists()

    wait_for(waiting, 30, "the BUTTON")
    time.sleep(1)
    job.refresh_from_db()
    assert job.calculated_status == "RUNNING"
    r = runner(job)
    assert (r.status, r.lease_owner) == ("RUNNING", "")
    detail = client.get(
        f"/api/v1/runners/webapp/{job.uuid}/main-layerfile?token={token}"
    ).json()
    assert detail["steps"][2]["waiting_for_button"] is True
    assert "Deploy to staging?" in detail["steps"][2]["log"]

    pressed = client.post(
        f"/api/v1/runners/webapp/{job.uuid}/main-layerfile/button?token={token}"
    )

    assert pressed.status_code == 200, pressed.json()
    assert finished(job).calculated_status == "SUCCEEDED"
    steps = list(runner(job).steps.order_by("position"))
    assert "Pressed by API token" in steps[2].log
    assert steps[3].log == "deployed\n"
    again = client.post(
        f"/api/v1/runners/webapp/{job.uuid}/main-layerfile/button?token={token}"
    )
    assert again.status_code == 409


def test_accept_buttons_presses_them(worker, start):
    job = finished(
        start(
            {"Layerfile": BASE + "BUTTON Deploy?\nRUN echo deployed\n"},
            accept_buttons=True,
        )
    )

    assert job.calculated_status == "SUCCEEDED"
    assert "Accepted automatically" in log(job)


def test_a_killed_worker_leads_to_runner_error(workers, start):
    doomed = workers.start()
    job = start({"Layerfile": BASE + "RUN sleep 60\n"})
    _running_step(job)

    doomed.kill()
    began = time.monotonic()
    workers.start()

    assert finished(job, timeout=30).calculated_status == "RUNNER_ERROR"
    took = time.monotonic() - began
    r = runner(job)
    assert r.status == "ERROR" and "stopped answering" in r.error_message
    assert took < 20
    wait_for(lambda: not _processes_of(job), 10, "the orphaned sleep to be killed")
    assert Step.objects.get(runner=r, position=2).status == "ERROR"


def test_logs_are_stored_while_the_step_runs(worker, start):
    job = start(
        {"Layerfile": BASE + "RUN echo first line; sleep 3; echo second line\n"}
    )

    step = _running_step(job)
    wait_for(
        lambda: "first line" in Step.objects.get(pk=step.pk).log,
        10,
        "the first line to be stored",
    )
    assert Step.objects.get(pk=step.pk).status == "RUNNING"
    assert finished(job).calculated_status == "SUCCEEDED"
    assert Step.objects.get(pk=step.pk).log == "first line\nsecond line\n"


def test_background_processes_stop_with_the_runner(worker, start, tmp_path):
    beacon = tmp_path / "beacon"
    job = finished(
        start(
            {
                "Layerfile": BASE
                + f"RUN BACKGROUND while true; do date >> {beacon}; sleep 0.1; done\n"
                + f"RUN sleep 0.5; test -s {beacon}\n"
            }
        )
    )

    assert job.calculated_status == "SUCCEEDED", log(job)
    assert "Started in the background" in log(job)
    size = beacon.stat().st_size
    time.sleep(0.5)
    assert beacon.stat().st_size == size
    assert not _processes_of(job)


def test_a_step_that_takes_too_long_is_stopped(settings, workers, start):
    settings.CI_STEP_TIMEOUT_SECONDS = 1
    workers.start()

    job = finished(start({"Layerfile": BASE + "RUN sleep 30\nRUN echo never\n"}))

    assert job.calculated_status == "FAILURE"
    assert "took longer than 1 s and was stopped" in log(job)
    assert not _processes_of(job)


def test_a_long_log_is_cut_with_a_marker(settings, workers, start):
    settings.CI_STEP_LOG_MAX_BYTES = 2048
    workers.start()

    job = finished(start({"Layerfile": BASE + "RUN yes abcdefgh | head -c 100000\n"}))

    step = runner(job).steps.get(position=2)
    assert step.status == "SUCCESS"
    assert step.log.startswith("abcdefgh\n" * 10)
    assert "97952 more bytes of output were dropped" in step.log
    assert len(step.log) < 2300


def test_cancelling_a_runner_waiting_at_a_button(worker, start, client, token):
    job = start({"Layerfile": BASE + "BUTTON Deploy?\nRUN echo deployed\n"})
    wait_for(
        lambda: Step.objects.filter(
            runner__job=job, instruction__startswith="BUTTON", status="RUNNING"
        ).exists(),
        30,
        "the BUTTON",
    )

    r = client.post(f"/api/v1/run/webapp/{job.number}/cancel?token={token}")

    assert r.json()["cancelled_runners"] == 1
    job.refresh_from_db()
    assert job.calculated_status == "RUNNER_CANCELLED" and job.finished_at
    steps = list(runner(job).steps.order_by("position"))
    assert [s.status for s in steps] == ["SUCCESS", "CANCELLED", "SKIPPED"]


def test_a_git_source_that_disappears_is_a_job_error(
    worker, client, token, repository, source, settings
):
    import shutil

    from django.db import transaction

    with transaction.atomic():
        # Hold the worker off until the source and this host's mirror are gone.
        r = client.post(f"/api/v1/run/webapp?token={token}")
        job = Job.objects.select_for_update().get(number=r.json()["job"]["id"])
        shutil.rmtree(source.path)
        shutil.rmtree(settings.GIT_MIRROR_DIR)

    assert finished(job).calculated_status == "JOB_ERROR"
    assert "could not fetch" in job.error_message

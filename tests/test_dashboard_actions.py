"""Members control runs from the run page: cancel, retry, press a BUTTON."""

import pytest
from django_tasks_db.models import DBTaskResult

from ciapp.models import Step
from ciapp.statuses import RunnerStatus, StepStatus
from tests.factories import finish, make_job, start_job


@pytest.fixture
def job(repository):
    job = make_job(repository)
    start_job(job, "a/Layerfile", "b/Layerfile")
    return job


def url(job, suffix):
    return f"{job.path()}/{suffix}"


def test_the_page_offers_the_controls(member_client, job):
    a, b = job.runners.order_by("layerfile_path")
    finish(a, RunnerStatus.FAILURE)

    page = member_client.get(job.path()).content.decode()

    assert f'action="{url(job, f"runners/{a.pk}/retry")}"' in page
    assert f'action="{url(job, f"runners/{b.pk}/cancel")}"' in page
    assert f'action="{url(job, "cancel")}"' in page
    assert "csrfmiddlewaretoken" in page


def test_cancelling_the_run(member_client, job):
    r = member_client.post(url(job, "cancel"), follow=True)

    assert r.redirect_chain == [(job.path(), 302)]
    job.refresh_from_db()
    assert job.calculated_status == "RUNNER_CANCELLED"
    assert "Cancelled 2 runner(s)." in r.content.decode()
    assert set(job.runners.values_list("error_message", flat=True)) == {
        "Cancelled by member."
    }


def test_retrying_a_runner(member_client, job):
    a, _ = job.runners.order_by("layerfile_path")
    finish(a, RunnerStatus.FAILURE)

    r = member_client.post(url(job, f"runners/{a.pk}/retry"), follow=True)

    assert "Retrying as a-2." in r.content.decode()
    assert job.runners.filter(layerfile_path="a/Layerfile", index=2).exists()
    assert (
        DBTaskResult.objects.filter(
            task_path="ciapp.execution.tasks.run_runner"
        ).count()
        == 2
    )


def test_retrying_an_unfinished_runner_explains(member_client, job):
    a, _ = job.runners.order_by("layerfile_path")

    r = member_client.post(url(job, f"runners/{a.pk}/retry"), follow=True)

    assert "can&#x27;t be retried" in r.content.decode()
    assert job.runners.count() == 2


def test_pressing_a_button(member_client, job):
    a, _ = job.runners.order_by("layerfile_path")
    a.transition(RunnerStatus.RUNNING)
    step = Step.objects.create(
        runner=a,
        position=1,
        line=2,
        instruction="BUTTON Ship it?",
        status=StepStatus.RUNNING,
    )

    page = member_client.get(job.path()).content.decode()
    assert "Press: Ship it?" in page
    r = member_client.post(url(job, f"runners/{a.pk}/button"), follow=True)

    assert "Pressed; a goes on." in r.content.decode()
    step.refresh_from_db()
    assert step.pressed_by == "member"


def test_controls_are_post_only(member_client, job):
    a, _ = job.runners.order_by("layerfile_path")

    assert member_client.get(url(job, "cancel")).status_code == 405
    assert member_client.get(url(job, f"runners/{a.pk}/retry")).status_code == 405


def test_an_unknown_action_or_runner_is_404(member_client, job, other_repository):
    a, _ = job.runners.order_by("layerfile_path")
    theirs = make_job(other_repository)
    (their_runner,) = start_job(theirs)

    assert member_client.post(url(job, f"runners/{a.pk}/explode")).status_code == 404
    assert (
        member_client.post(url(job, f"runners/{their_runner.pk}/cancel")).status_code
        == 404
    )


def test_outsiders_cannot_touch_the_run(client, outsider, job):
    client.force_login(outsider)

    assert client.post(url(job, "cancel")).status_code == 404
    job.refresh_from_db()
    assert job.cancel_requested_at is None


def test_anonymous_users_are_sent_to_sign_in(client, job):
    r = client.post(url(job, "cancel"))

    assert r.status_code == 302 and r["Location"].startswith("/login/")

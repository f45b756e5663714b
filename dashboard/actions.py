"""What members can do to a run from its page: cancel it, retry, cancel or
press the BUTTON of one of its runners.

Each is a POST from a form with a CSRF token; the answer is a redirect back
to the run page with a message saying what happened.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from ciapp.execution import scheduling
from ciapp.models import InvalidTransition, Job, Runner
from dashboard.views import _get_job_for_user


def _back(job: Job) -> HttpResponse:
    return redirect(job.path())


def _runner(job: Job, runner_pk: int) -> Runner:
    runner = job.runners.filter(pk=runner_pk).first()
    if runner is None:
        raise Http404("No such runner")
    runner.job = job
    return runner


@login_required
@require_POST
def cancel_job(request: HttpRequest, org: str, repo: str, number: int) -> HttpResponse:
    job = _get_job_for_user(request, org, repo, number)

    cancelled = job.cancel(by=request.user.get_username())
    if cancelled:
        messages.success(request, f"Cancelled {cancelled} runner(s).")
    else:
        messages.info(request, "Nothing was left to cancel.")
    return _back(job)


@login_required
@require_POST
def runner_action(
    request: HttpRequest, org: str, repo: str, number: int, runner: int, action: str
) -> HttpResponse:
    if action not in ("retry", "cancel", "button"):
        raise Http404("No such action")
    job = _get_job_for_user(request, org, repo, number)
    target = _runner(job, runner)
    by = request.user.get_username()

    if action == "retry":
        try:
            new = scheduling.retry(target)
        except InvalidTransition:
            messages.error(
                request,
                f"{target.runner_id} can't be retried: only a finished runner "
                "that was not retried already can be.",
            )
        else:
            messages.success(request, f"Retrying as {new.runner_id}.")
    elif action == "cancel":
        if target.cancel(by):
            messages.success(request, f"Cancelled {target.runner_id}.")
        else:
            messages.info(request, f"{target.runner_id} had already ended.")
    else:
        waiting = [s for s in target.steps.all() if s.is_waiting_for_button]
        if waiting and waiting[0].press(by):
            scheduling.resume_after_button(target)
            messages.success(request, f"Pressed; {target.runner_id} goes on.")
        else:
            messages.info(request, f"{target.runner_id} is not waiting at a BUTTON.")
    return _back(job)

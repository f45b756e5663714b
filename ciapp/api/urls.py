from django.urls import re_path

from ciapp.api import openapi, runs, views

app_name = "api"

REPO = r"(?P<repo>[^/]+)"
NUMBER = r"(?P<number>[0-9]{1,10})"
RUNNER = r"(?P<job_uuid>[^/]+)/(?P<runner_id>[^/]+)"

urlpatterns = [
    # webapp.io's documented endpoints
    re_path(rf"^run/{REPO}/search/?$", views.search, name="search"),
    re_path(rf"^run/{REPO}/?$", runs.run_collection, name="runs"),
    re_path(rf"^runners/{REPO}/(?P<job_uuid>[^/]+)/?$", views.runners, name="runners"),
    # the same conventions, for what the dashboard can do
    re_path(rf"^run/{REPO}/{NUMBER}/?$", runs.job_detail, name="job"),
    re_path(rf"^run/{REPO}/{NUMBER}/cancel/?$", runs.job_cancel, name="job_cancel"),
    re_path(rf"^runners/{REPO}/{RUNNER}/?$", runs.runner_detail, name="runner"),
    re_path(
        rf"^runners/{REPO}/{RUNNER}/(?P<action>retry|cancel|button)/?$",
        runs.runner_action,
        name="runner_action",
    ),
    re_path(r"^openapi\.json$", openapi.openapi, name="openapi"),
    re_path(r"^(?P<path>[\s\S]*)$", views.not_found),
]

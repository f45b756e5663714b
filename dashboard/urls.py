from django.contrib.auth import views as auth_views
from django.urls import path

from dashboard import actions, views

app_name = "dashboard"

# NB: organizations are matched by the catch-all ``<org>/`` patterns at the
# end, so a fixed path above them (login, jobs, badge) cannot be an
# organization's page. ``-`` cannot start a repository name, which keeps the
# live paths apart from repositories.
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "jobs/github/<slug:org>/<str:repo>/<int:number>",
        views.job_detail,
        name="job",
    ),
    path(
        "jobs/github/<slug:org>/<str:repo>/<int:number>/-/live",
        views.job_live,
        name="job_live",
    ),
    path(
        "jobs/github/<slug:org>/<str:repo>/<int:number>/steps/<int:step>.log",
        views.step_log,
        name="step_log",
    ),
    path(
        "jobs/github/<slug:org>/<str:repo>/<int:number>/cancel",
        actions.cancel_job,
        name="job_cancel",
    ),
    path(
        "jobs/github/<slug:org>/<str:repo>/<int:number>/runners/<int:runner>/"
        "<str:action>",
        actions.runner_action,
        name="runner_action",
    ),
    path("badge/<slug:org>/<str:repo>.svg", views.badge, name="badge"),
    path("<slug:org>/", views.runs, name="runs"),
    path("<slug:org>/-/live", views.runs_live, name="runs_live"),
    path("<slug:org>/<str:repo>/", views.runs, name="repository_runs"),
    path("<slug:org>/<str:repo>/-/live", views.runs_live, name="repository_live"),
]

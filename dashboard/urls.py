from django.contrib.auth import views as auth_views
from django.urls import path

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "jobs/github/<slug:org>/<str:repo>/<int:number>",
        views.job_detail,
        name="job",
    ),
    path("<slug:org>/", views.runs, name="runs"),
    path("<slug:org>/<str:repo>/", views.runs, name="repository_runs"),
]

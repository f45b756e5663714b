from django.urls import re_path

from ciapp.api import views

app_name = "api"

REPO = r"(?P<repo>[^/]+)"

urlpatterns = [
    re_path(rf"^run/{REPO}/search/?$", views.search, name="search"),
    re_path(rf"^run/{REPO}/?$", views.create, name="create"),
    re_path(rf"^runners/{REPO}/(?P<job_uuid>[^/]+)/?$", views.runners, name="runners"),
    re_path(r"^(?P<path>.*)$", views.not_found),
]

from django.contrib import admin
from django.urls import include, path

from ciapp import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("ciapp.api.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("", include("dashboard.urls")),
]

handler404 = "ciapp.security.api_not_found"
handler500 = "ciapp.security.api_server_error"

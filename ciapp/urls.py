from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("ciapp.api.urls")),
    path("", include("dashboard.urls")),
]

handler404 = "ciapp.security.api_not_found"
handler500 = "ciapp.security.api_server_error"

from django.apps import AppConfig


class CiAppConfig(AppConfig):
    name = "ciapp"
    verbose_name = "CI"
    default_auto_field = "django.db.models.BigAutoField"

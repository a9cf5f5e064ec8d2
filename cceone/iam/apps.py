from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IamConfig(AppConfig):
    name = "cceone.iam"
    label = "iam"
    verbose_name = _("Identity and access")

    def ready(self):
        from . import signals  # noqa: F401

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IamConfig(AppConfig):
    name = "cceone.iam"
    label = "iam"
    verbose_name = _("Identity and access")

    def ready(self):
        from . import receivers  # noqa: F401  a changed password revokes the user's tokens

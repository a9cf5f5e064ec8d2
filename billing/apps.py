from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Billing")

    def ready(self):
        from . import checks  # noqa: F401 - registers the balance check with the clusters' registry
        from . import metering
        from .meters import RegisteredClusterMeter

        metering.register(RegisteredClusterMeter())

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    """Prometheus monitoring of registered clusters (R3.9): the tenant's endpoint and preset panels."""

    name = "monitoring"
    verbose_name = _("Monitoring")

    def ready(self):
        # How the app plugs into the core (docs/architecture.md, "How apps plug into the core").
        from cceone.iam.actions import Tier, register

        register("monitoring:configure", Tier.WRITE, _("Configure a cluster's Prometheus endpoint and test it"))

        from . import api

        api.register()

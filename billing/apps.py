from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Billing")

    def ready(self):
        # How the app plugs into the core and into clusters (docs/architecture.md).
        from cceone.console import navigation
        from cceone.console.signals import demo_seeded
        from cceone.iam import actions
        from clusters import pricing

        from . import api, demo, metering
        from . import tasks  # noqa: F401  sends the delivery of the notices written
        from . import checks  # noqa: F401 - registers the balance check with the clusters' registry
        from . import receivers  # noqa: F401  notices of inspections (operations' signal)
        from .meters import RegisteredClusterMeter
        from .models import price_in_force

        api.register()
        actions.register("billing:showback", actions.Tier.READ,
                         _("View showback: costs per namespace, cluster, fleet and enterprise project"))
        metering.register(RegisteredClusterMeter())
        pricing.register(price_in_force)
        demo_seeded.connect(demo.credit, dispatch_uid="billing.demo_credit")
        navigation.register(navigation.Entry("billing", _("Billing"), "billing:overview", "billing:list",
                                             match="billing:", position=70))

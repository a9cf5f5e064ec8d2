from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FleetsConfig(AppConfig):
    name = "fleets"
    verbose_name = _("Fleets")

    def ready(self):
        # How the app plugs into the core and into clusters (docs/architecture.md).
        from django.utils.translation import gettext_noop as N_

        from cceone.console import navigation, overview
        from clusters import changes, checks, order_fields
        from clusters import signals as cluster_signals

        from . import api, order_field, services

        api.register()
        from .overview import INSTANCES, STATISTICS

        overview.register_instances(INSTANCES)
        overview.register_statistics(STATISTICS)
        checks.register_unsubscribe_effect("fleet", services.unsubscribe_effect)
        order_fields.register(order_field.FLEET)
        changes.register(changes.Change("fleet", N_("Change fleet"), N_("fleet change"),
                                        services.apply_membership_change))
        cluster_signals.cluster_unsubscribed.connect(
            lambda sender, operation, cluster, **kw: services.leave_on_unsubscribe(operation, cluster),
            weak=False, dispatch_uid="fleets.leave_on_unsubscribe")
        navigation.register(navigation.Entry("fleets", _("Fleet management"), "fleets:list", "fleets:list",
                                             match="fleets:", position=40))

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FederationConfig(AppConfig):
    name = "federation"
    verbose_name = _("Federation")

    def ready(self):
        # How the app plugs into the core and the apps below it (docs/architecture.md).
        from billing import metering
        from cceone.console import navigation, overview

        from . import api
        from . import checks  # noqa: F401 - registers the quota and control-plane checks (clusters' registry)
        from . import tasks  # noqa: F401 - sends provisioning and unsubscribing on the services' signals
        from .meters import FederationMeter

        from cceone.iam.signals import credentials_revoked
        from clusters.hub_directory import register_target

        from . import kubeconfigs

        register_target(kubeconfigs.HUB_PREFIX, kubeconfigs.HubFederations())
        from fleets import panels

        from .fleet_panel import fleet_panel

        panels.register(fleet_panel)
        credentials_revoked.connect(kubeconfigs.revoke_for_user_signal, dispatch_uid="federation.revoke_kubeconfigs")
        api.register()
        from .overview import INSTANCES, STATISTICS

        overview.register_instances(INSTANCES)
        overview.register_statistics(STATISTICS)
        metering.register(FederationMeter())
        navigation.register(navigation.Entry("fleets", _("Federation management"), "federation:list",
                                             "federations:list", match="federation:", position=50))

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FederationConfig(AppConfig):
    name = "federation"
    verbose_name = _("Federation")

    def ready(self):
        # How the app plugs into the core and the apps below it (docs/architecture.md).
        from billing import metering
        from cceone.console import navigation, overview
        from cceone.iam.signals import credentials_revoked
        from clusters.hub_directory import register_target
        from fleets import panels
        from resources import buttons

        from . import api, console, console_api, drift_api, drift_views, failover_api, kubeconfigs, migration_api
        from . import checks  # noqa: F401 - registers the quota and control-plane checks (clusters' registry)
        from . import tasks  # noqa: F401 - sends provisioning, members' joins and RBAC on the services' signals
        from .fleet_panel import fleet_panel
        from .meters import FederationMeter
        from .overview import INSTANCES, STATISTICS
        from .workloads import DRIFT_KINDS, REPLICATED

        # The hub's kubeconfig proxy serves federations too (/k8s/federations/<id>).
        register_target(kubeconfigs.HUB_PREFIX, kubeconfigs.HubFederations())
        credentials_revoked.connect(kubeconfigs.revoke_for_user_signal, dispatch_uid="federation.revoke_kubeconfigs")
        panels.register(fleet_panel)  # a fleet's page: its federation, join or leave one (R4.5)
        console.register()  # before resources' ready(): its API serves every target type registered
        api.register()
        console_api.register()
        failover_api.register()
        drift_api.register()
        migration_api.register()
        overview.register_instances(INSTANCES)
        overview.register_statistics(STATISTICS)
        metering.register(FederationMeter())
        navigation.register(navigation.Entry("fleets", _("Federation management"), "federation:list",
                                             "federations:list", match="federation:",
                                             active_on=navigation.console_of("federation"), position=50))
        # A federated workload's page leads to where Karmada placed it and to its drift.
        buttons.register(buttons.ObjectButton(
            "placement", _("Placement"), tuple(REPLICATED.values()), drift_views.placement_button_url,
            drift_views.on_federation, tooltip=_("The replicas each member got, beside the division preview")))
        buttons.register(buttons.ObjectButton(
            "drift", _("Drift"), tuple(DRIFT_KINDS.values()), drift_views.drift_button_url, drift_views.on_federation,
            tooltip=_("The template, what Karmada rendered for each member and the member's object, compared")))

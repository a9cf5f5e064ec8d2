from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClustersConfig(AppConfig):
    name = "clusters"
    verbose_name = _("Registered clusters")

    def ready(self):
        # How the app plugs into the core and follows it (docs/architecture.md).
        from cceone.console import navigation, overview
        from cceone.console.signals import demo_seeded
        from cceone.iam.signals import credentials_revoked

        from . import api, demo, kubeconfigs
        from . import tasks  # noqa: F401  sends the work the services' signals ask for
        from .overview import INSTANCES, STATISTICS

        api.register()
        overview.register_instances(INSTANCES)
        overview.register_statistics(STATISTICS)
        credentials_revoked.connect(kubeconfigs.revoke_for_user_signal, dispatch_uid="clusters.revoke_kubeconfigs")
        demo_seeded.connect(demo.seed_inventory, dispatch_uid="clusters.demo_inventory")
        navigation.register(navigation.Entry(
            "clusters", _("Registered clusters"), "clusters:list", "clusters:list",
            match="clusters:", active_on=navigation.console_of("cluster"), position=30))

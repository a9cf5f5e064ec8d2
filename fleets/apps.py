from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FleetsConfig(AppConfig):
    name = "fleets"
    verbose_name = _("Fleets")

    def ready(self):
        # How the app plugs into the core and into clusters (docs/architecture.md).
        from cceone.console import navigation
        from clusters import checks

        from . import api, services

        api.register()
        checks.register_unsubscribe_blocker("fleet", services.unsubscribe_blocker)
        navigation.register(navigation.Entry("fleets", _("Fleet management"), "fleets:list", "fleets:list",
                                             match="fleets:", position=40))

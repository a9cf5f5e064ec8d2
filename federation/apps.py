from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FederationConfig(AppConfig):
    name = "federation"
    verbose_name = _("Federation")

    def ready(self):
        # How the app plugs into the core and the apps below it (docs/architecture.md).
        from billing import metering
        from cceone.console import navigation

        from . import api, console, console_api
        from . import checks  # noqa: F401 - registers the quota and control-plane checks (clusters' registry)
        from . import tasks  # noqa: F401 - sends provisioning and unsubscribing on the services' signals
        from .meters import FederationMeter

        console.register()  # before resources' ready(): its API serves every target type registered
        api.register()
        console_api.register()
        metering.register(FederationMeter())
        navigation.register(navigation.Entry("fleets", _("Federation management"), "federation:list",
                                             "federations:list", match="federation:", position=50))

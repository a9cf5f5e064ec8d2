from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FederationConfig(AppConfig):
    name = "federation"

    def ready(self):
        from cceone.console import navigation

        # Shown once the federation pages exist (an entry without its URL is left out).
        navigation.register(navigation.Entry("fleets", _("Federation management"), "federation:list",
                                             "federations:list", match="federation:", position=50))

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FleetsConfig(AppConfig):
    name = "fleets"
    verbose_name = _("Fleets")

    def ready(self):
        from clusters.services import UNSUBSCRIBE_BLOCKERS

        from . import services

        if services.unsubscribe_blocker not in UNSUBSCRIBE_BLOCKERS:
            UNSUBSCRIBE_BLOCKERS.append(services.unsubscribe_blocker)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FleetsConfig(AppConfig):
    name = "fleets"
    verbose_name = _("Fleets")

    def ready(self):
        from cceone.iam.services import ACCESS_LOST_HOOKS
        from clusters.services import UNSUBSCRIBE_BLOCKERS

        from . import services, signals  # noqa: F401  connects the "cluster came up" receiver

        if services.unsubscribe_blocker not in UNSUBSCRIBE_BLOCKERS:
            UNSUBSCRIBE_BLOCKERS.append(services.unsubscribe_blocker)
        if services.user_lost_access not in ACCESS_LOST_HOOKS:
            ACCESS_LOST_HOOKS.append(services.user_lost_access)

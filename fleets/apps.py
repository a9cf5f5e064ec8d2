from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FleetsConfig(AppConfig):
    name = "fleets"
    verbose_name = _("Fleets")

    def ready(self):
        from cceone.celery import app
        from cceone.iam.services import ACCESS_LOST_HOOKS
        from clusters.services import UNSUBSCRIBE_BLOCKERS

        from . import services, signals  # noqa: F401  connects the "cluster came up" receiver

        if services.unsubscribe_blocker not in UNSUBSCRIBE_BLOCKERS:
            UNSUBSCRIBE_BLOCKERS.append(services.unsubscribe_blocker)
        if services.user_lost_access not in ACCESS_LOST_HOOKS:
            ACCESS_LOST_HOOKS.append(services.user_lost_access)
        # Retries with back-off, lost requests, and the periodic re-sync that binds namespaces
        # created after their association (django-celery-beat copies this into its table).
        app.conf.beat_schedule.setdefault(
            "resync-kubernetes-permissions", {"task": "fleets.tasks.resync_permissions", "schedule": 60.0})

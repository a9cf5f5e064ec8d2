from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResourcesConfig(AppConfig):
    """Kubernetes resources of any target (a registered cluster, a federation), served
    by generic views over a resource registry (ARCHITECTURE decision 2)."""

    name = "resources"
    verbose_name = _("Kubernetes resources")

    def ready(self):
        # The console's own kinds: each module registers its kinds when imported, in the
        # order kinds/__init__.py gives (the navigation's). Kinds import the forms and
        # services they use, which import the registry, so the registry cannot import them.
        from . import api
        from . import kinds  # noqa: F401
        from . import tasks  # noqa: F401  sends the drain passes the services ask for

        api.register()

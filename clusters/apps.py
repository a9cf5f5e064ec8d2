from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClustersConfig(AppConfig):
    name = "clusters"
    verbose_name = _("Registered clusters")

    def ready(self):
        from . import kubeconfigs  # noqa: F401  registers the revoke-on-access-lost hook

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResourcesConfig(AppConfig):
    """Kubernetes resources of any target (a registered cluster, a federation), served
    by generic views over a resource registry (ARCHITECTURE decision 2)."""

    name = "resources"
    verbose_name = _("Kubernetes resources")

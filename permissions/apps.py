from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PermissionsConfig(AppConfig):
    """Kubernetes permissions: presets and custom permissions, their associations with users
    on clusters and fleets, and the sync that writes them into each cluster as RBAC."""

    name = "permissions"
    verbose_name = _("Kubernetes permissions")

    def ready(self):
        from . import signals  # noqa: F401  connects the cluster, IAM and fleet receivers

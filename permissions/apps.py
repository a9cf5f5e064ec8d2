from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PermissionsConfig(AppConfig):
    """Kubernetes permissions: presets and custom permissions, their associations with users
    on clusters and fleets, and the sync that writes them into each cluster as RBAC."""

    name = "permissions"
    verbose_name = _("Kubernetes permissions")

    def ready(self):
        from django.urls import path

        from cceone.console import navigation
        from fleets import pages
        from fleets.api import register_member_field

        from . import api, views
        from . import receivers  # noqa: F401  connects the cluster, IAM and fleet receivers
        from .serializers import ClusterSyncField

        api.register()
        register_member_field("permission_sync", ClusterSyncField, select_related="permission_sync")
        pages.register(path("<int:pk>/permissions/", views.fleet_associations, name="permissions"))
        navigation.register(navigation.Entry("platform", _("Permission management"), "permissions:list",
                                             "permissions:list", match="permissions:", position=60))

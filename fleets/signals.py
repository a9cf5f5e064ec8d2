"""A cluster that becomes running gets its RBAC synced (connectivity.heartbeat saves the
status with update_fields, inside its transaction; the sync is enqueued on commit)."""
from django.db.models.signals import post_save
from django.dispatch import receiver

from clusters.models import RegisteredCluster

from . import services


@receiver(post_save, sender=RegisteredCluster, dispatch_uid="fleets.cluster_came_up")
def _cluster_came_up(sender, instance, created, update_fields=None, **kwargs):
    if created or not update_fields or "status" not in update_fields:
        return
    if instance.status == RegisteredCluster.Status.RUNNING:
        services.cluster_came_up(instance)

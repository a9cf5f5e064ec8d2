"""A cluster that becomes running gets its RBAC synced (connectivity.heartbeat saves the
status with update_fields, inside its transaction; the sync is enqueued on commit), and so
do the account's clusters when IAM changes what its users may do, and the clusters that
join or leave a fleet (they take the fleet's associations, or their own again)."""
from django.db.models.signals import post_save
from django.dispatch import receiver

from cceone.iam.signals import access_changed

from clusters.models import RegisteredCluster
from fleets.signals import members_changed

from . import services


@receiver(post_save, sender=RegisteredCluster, dispatch_uid="permissions.cluster_came_up")
def _cluster_came_up(sender, instance, created, update_fields=None, **kwargs):
    if created or not update_fields or "status" not in update_fields:
        return
    if instance.status == RegisteredCluster.Status.RUNNING:
        services.cluster_came_up(instance)


@receiver(access_changed, dispatch_uid="permissions.access_changed")
def _access_changed(sender, account, users, **kwargs):
    services.access_changed(account)


@receiver(members_changed, dispatch_uid="permissions.fleet_members_changed")
def _fleet_members_changed(sender, fleet, clusters, **kwargs):
    services.request_sync(clusters)

"""What the permissions app follows: a cluster that comes up gets its RBAC synced, and so
do the account's clusters when IAM changes what its users may do, and the clusters that
join or leave a fleet (they take the fleet's associations, or their own again). Each sync
is sent on commit by `tasks.request_sync`."""
from django.dispatch import receiver

from cceone.iam.signals import access_changed
from clusters.signals import cluster_came_up
from fleets.signals import members_changed

from . import services, tasks


@receiver(cluster_came_up, dispatch_uid="permissions.cluster_came_up")
def _cluster_came_up(sender, cluster, **kwargs):
    tasks.request_sync([cluster])


@receiver(access_changed, dispatch_uid="permissions.access_changed")
def _access_changed(sender, account, users, **kwargs):
    services.access_changed(account)


@receiver(members_changed, dispatch_uid="permissions.fleet_members_changed")
def _fleet_members_changed(sender, fleet, clusters, **kwargs):
    tasks.request_sync(clusters)

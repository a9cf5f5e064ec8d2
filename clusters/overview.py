"""Registered clusters on the console's overview (R1.1, R1.2): the clusters the user may list
as instances by type and region, and the statistics views' aggregate over the clusters'
latest heartbeats (`RegisteredCluster.latest_heartbeat`: one join, not the history). Fleets
and federations build their views with `statistics_of`."""
from decimal import Decimal

from django.db.models import Count, DecimalField, F, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from cceone.console.overview import Instances, StatisticsView
from cceone.iam.access import restrict

from .models import RegisteredCluster



def listable(user):
    return restrict(RegisteredCluster.objects.all(), user, "clusters:list").exclude(
        status=RegisteredCluster.Status.UNSUBSCRIBED)


def instances(user):
    return listable(user).annotate(kind=F("cluster_type"), region_pk=F("region_id"))


def statistics_of(clusters, view: str):
    """The one-row aggregate of a statistics view (`cceone.console.overview.STATISTICS`) over
    `clusters` (unsubscribed ones left out): the figures of each cluster's latest heartbeat."""
    zero = Value(0)
    return (clusters.exclude(status=RegisteredCluster.Status.UNSUBSCRIBED).order_by()
            .annotate(view=Value(view)).values("view")
            .annotate(clusters=Count("pk"),
                      nodes=Coalesce(Sum("latest_heartbeat__nodes_total"), zero),
                      vcpu=Coalesce(Sum("latest_heartbeat__vcpu"), Value(Decimal(0)),
                                    output_field=DecimalField(max_digits=18, decimal_places=3)),
                      cpu_requested=Coalesce(Sum("latest_heartbeat__cpu_requested"), zero),
                      cpu_allocatable=Coalesce(Sum("latest_heartbeat__cpu_allocatable"), zero),
                      memory_requested=Coalesce(Sum("latest_heartbeat__memory_requested"), zero),
                      memory_allocatable=Coalesce(Sum("latest_heartbeat__memory_allocatable"), zero)))


INSTANCES = Instances("clusters", dict(RegisteredCluster.Type.choices), instances, position=10)
STATISTICS = StatisticsView("clusters", _("Registered clusters"),
                            lambda user: statistics_of(listable(user), "clusters"), position=10)

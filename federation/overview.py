"""Federations on the console's overview (R1.1, R1.2): counted by region, and a statistics
view over the member clusters (their fleet's) of the federations the user may list."""
from django.db.models import F, Value
from django.utils.translation import gettext_lazy as _

from cceone.console.overview import Instances, StatisticsView
from cceone.iam.access import restrict
from clusters.models import RegisteredCluster
from clusters.overview import statistics_of

from .models import Federation


def listable(user):
    return restrict(Federation.objects.all(), user, "federations:list").exclude(
        status=Federation.Status.UNSUBSCRIBED)


def instances(user):
    return listable(user).annotate(kind=Value("federation"), region_pk=F("region_id"))


INSTANCES = Instances("federations", {"federation": _("Federations")}, instances, position=30)
STATISTICS = StatisticsView(
    "federations", _("Federations"),
    lambda user: statistics_of(RegisteredCluster.objects.filter(
        fleet__federation__in=listable(user).values("pk")), "federations"),
    position=30)

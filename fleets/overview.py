"""Fleets on the console's overview (R1.1, R1.2): counted as instances (they belong to no
region), and a statistics view over the clusters of the fleets the user may list."""
from django.db.models import IntegerField, Value
from django.utils.translation import gettext_lazy as _

from cceone.console.overview import Instances, StatisticsView
from cceone.iam.access import restrict
from clusters.models import RegisteredCluster
from clusters.overview import statistics_of

from .models import Fleet


def listable(user):
    return restrict(Fleet.objects.all(), user, "fleets:list")


def instances(user):
    return listable(user).annotate(kind=Value("fleet"), region_pk=Value(None, output_field=IntegerField()))


INSTANCES = Instances("fleets", {"fleet": _("Fleets")}, instances, position=20, regional=False)
STATISTICS = StatisticsView(
    "fleets", _("Fleets"),
    lambda user: statistics_of(RegisteredCluster.objects.filter(fleet__in=listable(user).values("pk")), "fleets"),
    position=20)

"""The clusters' card on the console's overview (R1.1): the instances the user may list, by
type and by region. Registered with `cceone.console.overview` when the app is ready."""
from django.db.models import Count

from cceone.console.overview import Card
from cceone.iam.access import restrict
from cceone.iam.models import Region

from .models import RegisteredCluster


def context(request) -> dict:
    clusters = restrict(RegisteredCluster.objects.all(), request.user, "clusters:list").exclude(
        status=RegisteredCluster.Status.UNSUBSCRIBED
    )
    by_type = dict(clusters.values_list("cluster_type").annotate(n=Count("pk")))
    types = [{"label": label, "count": by_type.get(value, 0)} for value, label in RegisteredCluster.Type.choices]
    by_region = dict(clusters.values_list("region_id").annotate(n=Count("pk")))
    regions = [{"label": r.display_name, "count": by_region.get(r.pk, 0)} for r in Region.objects.all()]
    peak = max([t["count"] for t in types] + [r["count"] for r in regions] + [1])
    return {"types": types, "regions": regions, "peak": peak, "total": sum(by_type.values())}


CARD = Card("clusters", "clusters/partials/overview_card.html", context, position=10)

"""The console's own pages: overview, health check, region and error pages."""
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cceone.iam import services as iam_services
from cceone.iam.access import grants, restrict
from cceone.iam.models import Region
from cceone.iam.routes import AUTHENTICATED_ONLY, iam_page
from clusters.models import RegisteredCluster

from .redirects import redirect_next


def healthz(request):
    """Liveness and database reachability, for load balancers and `make run`'s smoke test."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok"})
    except Exception as error:  # noqa: BLE001 - any database failure means unhealthy
        return JsonResponse({"status": "error", "error": str(error)}, status=503)


@iam_page(AUTHENTICATED_ONLY)
@login_required
def overview(request):
    """R1.1: the tenant's instances by type and by region (what the user may list)."""
    clusters = restrict(RegisteredCluster.objects.all(), request.user, "clusters:list").exclude(
        status=RegisteredCluster.Status.UNSUBSCRIBED
    )
    by_type = dict(clusters.values_list("cluster_type").annotate(n=Count("pk")))
    types = [{"label": label, "count": by_type.get(value, 0)} for value, label in RegisteredCluster.Type.choices]
    by_region = dict(clusters.values_list("region_id").annotate(n=Count("pk")))
    regions = [{"label": r.display_name, "count": by_region.get(r.pk, 0)} for r in Region.objects.all()]
    peak = max([t["count"] for t in types] + [r["count"] for r in regions] + [1])
    g = grants(request.user)
    no_policy = not request.user.is_main_account and not (g.account_wide or g.scoped)
    return render(request, "console/overview.html",
                  {"types": types, "regions": regions, "peak": peak, "total": sum(by_type.values()),
                   "no_policy": no_policy})


@iam_page(AUTHENTICATED_ONLY)
@login_required
@require_POST
def set_region(request):
    region = get_object_or_404(Region, code=request.POST.get("region"))
    iam_services.set_region(request.user, region)
    return redirect_next(request, "/")


def favicon(request):
    """Browsers ask for /favicon.ico whatever the page says; the icon lives with the static files
    (its URL carries the manifest's hash, hence a temporary redirect)."""
    return redirect(static("favicon.ico"))


def permission_denied(request, exception=None):
    message = str(exception) if exception and str(exception) else None
    return render(request, "403.html", {"message": message}, status=403)


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        # A path no API route matches answers like one whose object does not exist.
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return render(request, "404.html", status=404)

"""The console's own pages: overview, health check, region and error pages."""
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.http import Http404
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cceone.iam import services as iam_services
from cceone.iam.access import grants
from cceone.iam.models import Region
from cceone.iam.routes import AUTHENTICATED_ONLY, iam_exempt, iam_page

from . import overview as cards
from .redirects import redirect_next


def healthz(request):
    """Liveness and database reachability, for load balancers and `make run`'s smoke test."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok"})
    except Exception as error:  # noqa: BLE001 - any database failure means unhealthy
        return JsonResponse({"status": "error", "error": str(error)}, status=503)


# The agreements an order asks to accept (R3.2, R5.1), each written in both languages
# (templates/console/agreements/<key>.<language>.html): a legal text is kept whole, not as msgids.
AGREEMENTS = {"service": gettext_lazy("CCE One Service Agreement"),
              "sla": gettext_lazy("CCE One Service Level Agreement")}


@iam_exempt("public: the text of the agreements an order asks to accept")
def agreement(request, name):
    if name not in AGREEMENTS:
        raise Http404
    language = "zh-hans" if (get_language() or "").startswith("zh") else "en"
    return render(request, "console/agreement.html", {
        "name": name, "title": AGREEMENTS[name], "agreements": list(AGREEMENTS.items()),
        "body": f"console/agreements/{name}.{language}.html"})


@iam_page(AUTHENTICATED_ONLY)
@login_required
def overview(request):
    """R1.1, R1.2: the tenant's instances by type and by region and the resource statistics
    per view, as charts (`overview.py`), then one card per app that registered one; a
    sub-account without any policy is told whom to ask (#13 item 19)."""
    g = grants(request.user)
    no_policy = not request.user.is_main_account and not (g.account_wide or g.scoped)
    regions = [(region.pk, region.display_name) for region in Region.objects.all()]
    return render(request, "console/overview.html", {"cards": cards.cards_for(request), "no_policy": no_policy,
                                                     "charts": cards.charts_for(request.user, regions)})


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

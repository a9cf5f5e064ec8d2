from cceone.iam.models import Region

from .navigation import navigation_for


def console(request):
    """The console shell's context. Computed once per request: table cells rendered from
    templates run context processors again for every cell."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    cached = getattr(request, "_console_context", None)
    if cached is None:
        cached = request._console_context = {
            "nav": navigation_for(request),
            "region_choices": list(Region.objects.all()),
            "current_region": getattr(request, "region", None),
        }
    return cached

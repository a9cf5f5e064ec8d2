from cceone.iam.models import Region

from .navigation import navigation_for


def console(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav": navigation_for(request),
        "region_choices": Region.objects.all(),
        "current_region": getattr(request, "region", None),
    }

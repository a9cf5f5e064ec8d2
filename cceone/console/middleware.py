from cceone.audit import context
from cceone.iam.models import Region


class RegionMiddleware:
    """Sets `request.region` (the user's persisted resource pool) and the audit origin."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        region = None
        if user is not None and user.is_authenticated and user.current_region_id:
            region = user.current_region
        request.region = region or Region.default()
        token = context.set_origin(context.origin_from_request(request))
        try:
            return self.get_response(request)
        finally:
            context.reset(token)

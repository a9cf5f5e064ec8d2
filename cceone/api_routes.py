"""The API's routes under /api/v1/: one router. The core registers its own viewsets here;
each product app registers its own from its AppConfig.ready() through `register()`, so the
core imports no app and adding an app's API never edits a core file."""
from rest_framework.routers import APIRootView, DefaultRouter

from cceone.audit.api import AuditEventViewSet
from cceone.iam import api as iam_api
from cceone.iam.routes import AUTHENTICATED_ONLY


class RootView(APIRootView):
    """The list of endpoints: each link is checked when followed."""

    iam_actions = {"list": AUTHENTICATED_ONLY}


router = DefaultRouter()
router.APIRootView = RootView


def register(prefix: str, viewset, basename: str) -> None:
    """Serve `viewset` under /api/v1/<prefix>/ (twice the same prefix is one route)."""
    if not any(entry[0] == prefix for entry in router.registry):
        router.register(prefix, viewset, basename=basename)


register("iam/users", iam_api.SubAccountViewSet, basename="subaccount")
register("iam/groups", iam_api.GroupViewSet, basename="group")
register("iam/policies", iam_api.PolicyViewSet, basename="policy")
register("iam/projects", iam_api.ProjectViewSet, basename="project")
register("iam/delegation", iam_api.DelegationViewSet, basename="delegation")
register("audit/events", AuditEventViewSet, basename="auditevent")

"""/api/v1/: one router. Each app with an `api` module registers its viewsets through
`register(router)`, so adding an app's API never edits this file."""
from importlib import import_module

from rest_framework.routers import APIRootView, DefaultRouter

from cceone.audit.api import AuditEventViewSet
from cceone.iam import api as iam_api
from cceone.iam.routes import AUTHENTICATED_ONLY


class RootView(APIRootView):
    """The list of endpoints: each link is checked when followed."""

    iam_actions = {"list": AUTHENTICATED_ONLY}


router = DefaultRouter()
router.APIRootView = RootView
router.register("iam/users", iam_api.SubAccountViewSet, basename="subaccount")
router.register("iam/groups", iam_api.GroupViewSet, basename="group")
router.register("iam/policies", iam_api.PolicyViewSet, basename="policy")
router.register("iam/projects", iam_api.ProjectViewSet, basename="project")
router.register("iam/delegation", iam_api.DelegationViewSet, basename="delegation")
router.register("audit/events", AuditEventViewSet, basename="auditevent")

for app in ("clusters", "fleets", "permissions", "federation", "billing", "resources"):
    try:
        module = import_module(f"{app}.api")
    except ModuleNotFoundError as error:
        if error.name != f"{app}.api":
            raise
        continue
    module.register(router)

urlpatterns = router.urls

"""/api/v1/: one router; each app registers its viewsets here."""
from rest_framework.routers import DefaultRouter

from cceone.audit.api import AuditEventViewSet
from cceone.iam import api as iam_api

router = DefaultRouter()
router.register("iam/users", iam_api.SubAccountViewSet, basename="subaccount")
router.register("iam/groups", iam_api.GroupViewSet, basename="group")
router.register("iam/policies", iam_api.PolicyViewSet, basename="policy")
router.register("iam/projects", iam_api.ProjectViewSet, basename="project")
router.register("iam/delegation", iam_api.DelegationViewSet, basename="delegation")
router.register("audit/events", AuditEventViewSet, basename="auditevent")

urlpatterns = router.urls

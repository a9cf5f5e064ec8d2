"""A URLconf with views that forgot to declare their IAM action, for test_fail_closed."""
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import include, path
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from cceone.iam.models import EnterpriseProject


@login_required
def undeclared(request):
    return HttpResponse("every project's secrets")


class ProjectsViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = EnterpriseProject.objects.none()
    iam_actions = {"list": "iam:list"}

    def list(self, request):
        return Response([])

    @action(detail=False, methods=["post"])
    def purge(self, request):  # forgotten in iam_actions
        return Response({"purged": True})


class UnmappedViewSet(viewsets.ViewSet):
    def list(self, request):  # no iam_actions at all
        return Response({"everything": True})


router = SimpleRouter()
router.register("projects", ProjectsViewSet, basename="t-projects")
router.register("unmapped", UnmappedViewSet, basename="t-unmapped")

urlpatterns = [
    path("undeclared/", undeclared),
    path("api/", include(router.urls)),
    path("", include("cceone.urls")),
]

handler403 = "cceone.console.pages.permission_denied"

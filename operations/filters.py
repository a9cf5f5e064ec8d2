import django_filters
from django.utils.translation import gettext_lazy as _

from cceone.console.filters import ConsoleFilterSet

from .models import Diagnosis, Inspection, RunStatus


def _clusters(request):
    from cceone.iam.access import restrict
    from clusters.models import RegisteredCluster

    if request is None:
        return RegisteredCluster.objects.none()
    return restrict(RegisteredCluster.objects.all(), request.user, "clusters:list")


class DiagnosisFilterSet(ConsoleFilterSet):
    cluster = django_filters.ModelChoiceFilter(queryset=_clusters, label=_("Cluster"))
    kind = django_filters.ChoiceFilter(choices=Diagnosis.Kind.choices, label=_("Type"))
    status = django_filters.ChoiceFilter(choices=RunStatus.choices, label=_("Status"))
    name = django_filters.CharFilter(lookup_expr="icontains", label=_("Name"))

    class Meta:
        model = Diagnosis
        fields = ["cluster", "kind", "status", "name"]


class InspectionFilterSet(ConsoleFilterSet):
    cluster = django_filters.ModelChoiceFilter(queryset=_clusters, label=_("Cluster"))
    status = django_filters.ChoiceFilter(choices=RunStatus.choices, label=_("Status"))

    class Meta:
        model = Inspection
        fields = ["cluster", "status"]

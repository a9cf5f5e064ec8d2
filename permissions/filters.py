import django_filters
from django.utils.translation import gettext_lazy as _

from cceone.console.filters import SearchFilterSet
from clusters.models import RegisteredCluster

from .models import ClusterPermissionSync, CustomPermission, PermissionBinding


class PermissionFilterSet(SearchFilterSet):
    class Meta:
        model = CustomPermission
        fields = []


class AssociationFilterSet(SearchFilterSet):
    search_fields = ("user__username", "cluster__name", "fleet__name")
    target_type = django_filters.ChoiceFilter(
        label=_("Target"), method="filter_target", choices=[("cluster", _("Clusters")), ("fleet", _("Fleets"))])
    cluster = django_filters.NumberFilter(label=_("Cluster ID"), field_name="cluster_id")
    fleet = django_filters.NumberFilter(label=_("Fleet ID"), field_name="fleet_id")
    user = django_filters.NumberFilter(label=_("User ID"), field_name="user_id")

    class Meta:
        model = PermissionBinding
        fields = ["cluster", "fleet", "user"]

    def filter_target(self, queryset, name, value):
        return queryset.filter(**{f"{value}__isnull": False})


class AssociationPageFilterSet(AssociationFilterSet):
    """The association list page: search and target type (the API also filters by ids)."""

    class Meta(AssociationFilterSet.Meta):
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("cluster", "fleet", "user"):
            del self.filters[name]
            del self.form.fields[name]


class SyncFilterSet(SearchFilterSet):
    state = django_filters.ChoiceFilter(label=_("Permission sync"), field_name="permission_sync__state",
                                        choices=ClusterPermissionSync.State.choices)

    class Meta:
        model = RegisteredCluster
        fields = []

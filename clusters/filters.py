import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from cceone.console.filters import SearchFilterSet

from .models import RegisteredCluster


class ClusterFilterSet(SearchFilterSet):
    """Current region by default; "show all regions" and "show unsubscribed" toggles."""

    all_regions = django_filters.BooleanFilter(method="filter_all_regions", label=_("Show all regions"),
                                               widget=forms.CheckboxInput)
    show_unsubscribed = django_filters.BooleanFilter(method="filter_unsubscribed", label=_("Show unsubscribed"),
                                                     widget=forms.CheckboxInput)
    status = django_filters.ChoiceFilter(choices=RegisteredCluster.Status.choices, label=_("Status"))
    cluster_type = django_filters.ChoiceFilter(choices=RegisteredCluster.Type.choices, label=_("Cluster type"))

    class Meta:
        model = RegisteredCluster
        fields = ["status", "cluster_type"]

    @property
    def qs(self):
        queryset = super().qs
        data = self.form.cleaned_data if hasattr(self.form, "cleaned_data") else {}
        region = getattr(self.request, "region", None)
        if not data.get("all_regions") and region is not None:
            queryset = queryset.filter(region=region)
        if not data.get("show_unsubscribed") and not data.get("status"):
            queryset = queryset.exclude(status=RegisteredCluster.Status.UNSUBSCRIBED)
        return queryset

    def filter_all_regions(self, queryset, name, value):
        return queryset  # applied in qs, where its absence matters too

    def filter_unsubscribed(self, queryset, name, value):
        return queryset

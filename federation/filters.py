import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from cceone.console.filters import SearchFilterSet

from .models import Federation


class FederationFilterSet(SearchFilterSet):
    """Live federations by default; "show unsubscribed" brings back the record of the others."""

    status = django_filters.ChoiceFilter(choices=Federation.Status.choices, label=_("Status"))
    show_unsubscribed = django_filters.BooleanFilter(method="filter_unsubscribed", label=_("Show unsubscribed"),
                                                     widget=forms.CheckboxInput)

    class Meta:
        model = Federation
        fields = ["status"]

    @property
    def qs(self):
        queryset = super().qs
        data = self.form.cleaned_data if hasattr(self.form, "cleaned_data") else {}
        if not data.get("show_unsubscribed") and not data.get("status"):
            queryset = queryset.exclude(status=Federation.Status.UNSUBSCRIBED)
        return queryset

    def filter_unsubscribed(self, queryset, name, value):
        return queryset  # applied in qs, where its absence matters too

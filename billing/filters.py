"""Filters shared by the billing pages and their API endpoints."""
import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from cceone.console.filters import ConsoleFilterSet, SearchFilterSet

from . import services
from .models import InstanceType, LedgerEntry, Settlement

DATE = {"widget": forms.DateInput(attrs={"type": "date"})}


class LedgerFilterSet(ConsoleFilterSet):
    kind = django_filters.ChoiceFilter(choices=LedgerEntry.Kind.choices, label=_("Type"))
    since = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte", label=_("From"), **DATE)
    until = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte", label=_("To"), **DATE)

    class Meta:
        model = LedgerEntry
        fields = ["kind", "since", "until"]


class UsageFilterSet(SearchFilterSet):
    """Usage records: billed hours unless `hours` says otherwise."""

    HOURS = [("billed", _("Billed hours")), ("all", _("All hours")), ("unbilled", _("Hours not billed"))]

    search_fields = ("instance_name",)
    month = django_filters.CharFilter(method="filter_month", label=_("Month"),
                                      widget=forms.DateInput(attrs={"type": "month"}))
    instance_type = django_filters.ChoiceFilter(choices=InstanceType.choices, label=_("Instance type"))
    since = django_filters.DateFilter(field_name="hour_start", lookup_expr="date__gte", label=_("From"), **DATE)
    until = django_filters.DateFilter(field_name="hour_start", lookup_expr="date__lte", label=_("To"), **DATE)
    hours = django_filters.ChoiceFilter(choices=HOURS, method="filter_hours", label=_("Hours"),
                                        empty_label=None)

    class Meta:
        model = Settlement
        fields = ["q", "month", "instance_type", "since", "until", "hours"]

    @property
    def qs(self):
        queryset = super().qs
        data = self.form.cleaned_data if hasattr(self.form, "cleaned_data") else {}
        hours = data.get("hours") or "billed"
        if hours != "all":
            queryset = queryset.filter(billable=hours == "billed")
        return queryset

    def filter_hours(self, queryset, name, value):
        return queryset  # applied in qs, where its absence matters too

    def filter_month(self, queryset, name, value):
        try:
            start, end = services.month_range(value)
        except ValidationError:
            return queryset.none()
        return queryset.filter(hour_start__gte=start, hour_start__lt=end)

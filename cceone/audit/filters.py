import datetime

import django_filters
from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from cceone.console.filters import ConsoleFilterSet

from .models import AuditEvent
from .services import KUBERNETES_PREFIX


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """Compares in UTC: ISO 8601 allows offsets up to ±23:59, PostgreSQL only up to ±15:59."""

    def filter(self, qs, value):
        if value is not None and value.tzinfo is not None:
            try:
                value = value.astimezone(datetime.timezone.utc)
            except OverflowError:  # past year 1 or 9999 once in UTC: the nearest end of time
                end = datetime.datetime.min if value.year == 1 else datetime.datetime.max
                value = end.replace(tzinfo=datetime.timezone.utc)
        return super().filter(qs, value)


class AuditEventFilterSet(ConsoleFilterSet):
    """R1.3 filters, shared by the audit page and the API."""

    since = UtcDateTimeFilter(field_name="time", lookup_expr="gte", label=_("From"),
                                             widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    until = UtcDateTimeFilter(field_name="time", lookup_expr="lte", label=_("To"),
                                             widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    user = django_filters.CharFilter(field_name="actor_name", lookup_expr="icontains", label=_("User"))
    action = django_filters.CharFilter(field_name="action", lookup_expr="icontains", label=_("Action"))
    target = django_filters.CharFilter(field_name="target_name", lookup_expr="icontains", label=_("Instance"))
    result = django_filters.ChoiceFilter(choices=AuditEvent.Result.choices, label=_("Result"))
    source = django_filters.ChoiceFilter(
        choices=[("console", _("Console")), ("kubernetes", _("Kubernetes API (kubeconfig)"))], label=_("Source"),
        method="filter_source")

    class Meta:
        model = AuditEvent
        fields = ["since", "until", "user", "action", "target", "result", "source"]

    def filter_source(self, queryset, name, value):
        """The console's own events, or the requests that passed the hub's kubeconfig proxy."""
        kubernetes = models.Q(action__startswith=KUBERNETES_PREFIX)
        return queryset.filter(kubernetes) if value == "kubernetes" else queryset.exclude(kubernetes)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # datetime-local inputs send "2026-11-26T10:00"; accept that format too.
        for name in ("since", "until"):
            self.filters[name].field.input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S",
                                                      "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]

"""Forms only parse; the rules are in operations.services."""
from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Diagnosis


class DiagnosisForm(forms.Form):
    cluster = forms.ModelChoiceField(queryset=None, label=_("Cluster"))
    kind = forms.ChoiceField(choices=Diagnosis.Kind.choices, label=_("Type"))
    namespace = forms.CharField(required=False, max_length=253, label=_("Namespace"),
                                help_text=_("Not needed for a node."))
    name = forms.CharField(max_length=253, label=_("Name"))

    def __init__(self, *args, clusters, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cluster"].queryset = clusters


class ConfirmForm(forms.Form):
    check = forms.CharField(max_length=64)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label=_("Note"))


class ScheduleForm(forms.Form):
    minute = forms.CharField(max_length=64, initial="0", label=_("Minute"))
    hour = forms.CharField(max_length=64, initial="2", label=_("Hour"))
    day_of_month = forms.CharField(max_length=64, initial="*", label=_("Day of month"))
    month_of_year = forms.CharField(max_length=64, initial="*", label=_("Month"))
    day_of_week = forms.CharField(max_length=64, initial="*", label=_("Day of week"),
                                  help_text=_("0 or 7 = Sunday, 1-5 = Monday to Friday."))
    timezone = forms.CharField(max_length=63, initial="Asia/Shanghai", label=_("Time zone"))
    enabled = forms.BooleanField(required=False, initial=True, label=_("Enabled"))
    acknowledged = forms.BooleanField(label=_("I understand that an inspection reads every workload, role, node and "
                                              "event of the cluster with the platform's identity."))


class WaiverForm(forms.Form):
    check_id = forms.ChoiceField(label=_("Check"))
    namespace = forms.CharField(required=False, max_length=253, label=_("Namespace"))
    kind = forms.CharField(required=False, max_length=64, label=_("Kind"))
    name = forms.CharField(required=False, max_length=253, label=_("Name"),
                           help_text=_("Leave empty to waive the check for the whole namespace."))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label=_("Reason"))
    expires_at = forms.DateTimeField(label=_("Expires at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                     input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"])

    def __init__(self, *args, **kwargs):
        from .inspection import CHECKS

        super().__init__(*args, **kwargs)
        self.fields["check_id"].choices = [(c.id, c.id) for c in CHECKS.values()]

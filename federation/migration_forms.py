"""The incremental migration wizard's form (R6.2): the two members, the application (a namespace,
optionally narrowed by a label selector) and the steps. It only parses; the rules are in
`federation.migration`."""
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from resources.forms import dns_label

from . import migration

DEFAULT_STEPS = "100:0 50:50 0:100"


class MigrationForm(forms.Form):
    source = forms.ChoiceField(label=_("Source member"), help_text=_("The member the application runs in now."))
    target = forms.ChoiceField(label=_("Target member"), help_text=_("The member it moves to."))
    namespace = forms.CharField(label=_("Namespace"), max_length=63, validators=[dns_label], initial="default")
    label_selector = forms.CharField(label=_("Label selector"), required=False, max_length=1000,
                                     help_text=_("For example app=shop: only this application's objects. Empty: "
                                                 "everything in the namespace."))
    steps = forms.CharField(label=_("Steps"), max_length=400, initial=DEFAULT_STEPS,
                            help_text=_("Weights source:target for each step, separated by spaces, such as "
                                        "100:0 50:50 0:100. The first keeps everything on the source, the last "
                                        "puts everything on the target."))

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(name, name) for name in members]
        self.fields["source"].choices = choices
        self.fields["target"].choices = choices
        if len(members) > 1 and not self.is_bound:
            self.initial.setdefault("target", members[1])

    def clean_steps(self):
        return migration.parse_steps(self.cleaned_data["steps"])

    def clean(self):
        data = super().clean()
        if data.get("source") and data.get("source") == data.get("target"):
            self.add_error("target", ValidationError(_("Choose a target member other than the source.")))
        return data

    def start(self) -> migration.Start:
        data = self.cleaned_data
        return migration.Start(source=data["source"], target=data["target"], namespace=data["namespace"],
                               steps=data["steps"], label_selector=data["label_selector"].strip())

from django import forms
from django.utils.translation import gettext_lazy as _


class AddonForm(forms.Form):
    """The version and the add-on's parameters, as fields; `Addon.clean` (in the service) judges them."""

    version = forms.ChoiceField(label=_("Version"))

    def __init__(self, addon, *args, versions=None, initial_values=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.addon = addon
        versions = versions or addon.versions
        self.fields["version"].choices = [(v, v) for v in reversed(versions)]
        values = {**addon.defaults(), **(initial_values or {})}
        self.fields["version"].initial = versions[-1]
        for p in addon.parameters:
            if p.kind == "boolean":
                field = forms.BooleanField(required=False)
            elif p.kind == "integer":
                field = forms.IntegerField(min_value=p.minimum, max_value=p.maximum)
            elif p.kind == "choice":
                field = forms.ChoiceField(choices=[(c, c) for c in p.choices])
            else:
                field = forms.CharField(max_length=200)
            field.label, field.help_text, field.initial = p.label, p.help, values.get(p.name)
            self.fields[p.name] = field

    def values(self) -> dict:
        return {p.name: self.cleaned_data.get(p.name) for p in self.addon.parameters}

"""Forms of the resource pages and the pieces every form shares (`ConsoleForm`,
`NamespacedForm`, `PairsField`, the name validators). The guided create forms, one per kind,
are in `create_forms`."""
from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .formatting import parse_pairs
from .services import TAINT_EFFECTS

dns_label = RegexValidator(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", _(
    "Use lower-case letters, digits and '-', starting and ending with a letter or digit."))
dns_subdomain = RegexValidator(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", _(
    "Use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit."))


class PairsField(forms.CharField):
    """`key=value` lines (labels, selectors, data) as a dict; the API gives the dict itself."""

    widget = forms.Textarea(attrs={"rows": 3, "class": "font-monospace"})

    def __init__(self, *args, commas=True, **kwargs):
        self.commas = commas
        kwargs.setdefault("required", False)
        super().__init__(*args, strip=False, **kwargs)

    def clean(self, value):
        if isinstance(value, dict):
            if self.required and not value:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return value
        value = super().clean(value)
        try:
            return parse_pairs(value or "", commas=self.commas)
        except ValueError as error:
            raise forms.ValidationError(_("“%(entry)s” is not key=value.") % {"entry": error}) from None

    def api_field(self):
        return serializers.DictField(child=serializers.CharField(allow_blank=True, trim_whitespace=False),
                                     required=self.required, allow_empty=not self.required,
                                     label=str(self.label), help_text=_("An object of keys and their values."))


class ConsoleForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs["class"] = f"form-control {widget.attrs.get('class', '')}".strip()


class NamespacedForm(ConsoleForm):
    name = forms.CharField(label=_("Name"), max_length=63, validators=[dns_label])
    namespace = forms.CharField(label=_("Namespace"), max_length=63, validators=[dns_label], initial="default")

    def metadata(self, **extra) -> dict:
        return {"name": self.cleaned_data["name"], "namespace": self.cleaned_data["namespace"], **extra}


class YamlForm(forms.Form):
    yaml = forms.CharField(label=_("YAML"), strip=False, required=False, widget=forms.Textarea(attrs={
        "class": "form-control yaml-editor", "rows": 24, "spellcheck": "false", "autocomplete": "off"}))


class LabelsForm(ConsoleForm):
    labels = PairsField(label=_("Labels"), commas=False, help_text=_("One key=value per line; remove a line to "
                                                                     "delete the label."),
                        widget=forms.Textarea(attrs={"rows": 8, "class": "font-monospace"}))
    resource_version = forms.CharField(widget=forms.HiddenInput)


class TaintForm(ConsoleForm):
    key = forms.CharField(label=_("Key"), max_length=253)
    value = forms.CharField(label=_("Value"), max_length=63, required=False)
    effect = forms.ChoiceField(label=_("Effect"), choices=[(e, e) for e in TAINT_EFFECTS])


class LogOptionsForm(forms.Form):
    TAILS = [(100, "100"), (500, "500"), (1000, "1000"), (5000, "5000"), (0, _("All"))]

    container = forms.ChoiceField(label=_("Container"), required=False)
    tail = forms.TypedChoiceField(label=_("Lines"), choices=TAILS, coerce=int, required=False, initial=500)
    previous = forms.BooleanField(label=_("Previous container"), required=False)
    follow = forms.BooleanField(label=_("Follow"), required=False)

    def __init__(self, data, containers):
        super().__init__(data)
        self.fields["container"].choices = [(c, c) for c in containers]
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-check-input" if isinstance(field.widget, forms.CheckboxInput) \
                else "form-select form-select-sm"

    def options(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        container = data.get("container") or (self.fields["container"].choices[0][0]
                                              if self.fields["container"].choices else None)
        tail = data.get("tail")
        return {"container": container, "tail": 500 if tail is None else (tail or None),
                "previous": bool(data.get("previous"))}

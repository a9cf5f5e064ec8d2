"""Forms of the permission pages: a custom permission's rules, an association."""
import re

from django import forms
from django.utils.translation import gettext_lazy as _

from cceone.iam.forms import AccountForm
from cceone.iam.models import User
from fleets.services import NAME_RULE

from . import console_resources, rbac
from .models import CustomPermission


# --- custom permissions ------------------------------------------------------------------------

def _split(text: str) -> list[str]:
    return [part for part in text.replace(",", " ").split() if part]


def resource_choices() -> list[tuple[str, str]]:
    """The resources the console shows (read when a form is built: the registry is filled
    once the apps are ready)."""
    return [(name, name) for _group, name in console_resources.all_resources()]


class RuleForm(forms.Form):
    """One rule: operations and resources. A permission's rules are unioned."""

    verbs = forms.MultipleChoiceField(label=_("Verbs"), required=False,
                                      choices=[(v, v) for v in rbac.STANDARD_VERBS],
                                      widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}))
    extra_verbs = forms.CharField(label=_("Other operations"), required=False,
                                  help_text=_("Added operation types, separated by spaces, e.g. deletecollection."))
    resource_scope = forms.ChoiceField(label=_("Resources"), initial="listed",
                                       widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
                                       choices=[("all", _("All resources")), ("listed", _("Listed resources"))])
    resources = forms.MultipleChoiceField(label=_("Resources the console shows"), required=False,
                                          choices=resource_choices,
                                          widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}))
    extra_resources = forms.CharField(
        label=_("Other resources"), required=False,
        help_text=_("Separated by spaces; resource.group for resources of other API groups, e.g. "
                    "horizontalpodautoscalers or widgets.example.com."))

    def rule(self) -> dict | None:
        data = self.cleaned_data
        verbs = list(data.get("verbs") or []) + _split(data.get("extra_verbs") or "")
        if data.get("resource_scope") == "all":
            resources = "*"
        else:
            resources = list(data.get("resources") or []) + _split(data.get("extra_resources") or "")
        if not verbs and resources in ("*", []) and data.get("resource_scope") != "all":
            return None  # an untouched extra rule
        return {"verbs": verbs, "resources": resources}

    @staticmethod
    def initial_for(rule: dict) -> dict:
        known = {name for _g, name in console_resources.all_resources()}
        resources = rule.get("resources")
        listed = [] if resources == "*" else list(resources)
        return {"verbs": [v for v in rule["verbs"] if v in rbac.STANDARD_VERBS],
                "extra_verbs": " ".join(v for v in rule["verbs"] if v not in rbac.STANDARD_VERBS),
                "resource_scope": "all" if resources == "*" else "listed",
                "resources": [r for r in listed if r in known],
                "extra_resources": " ".join(r for r in listed if r not in known)}


class _RuleFormSet(forms.BaseFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        form.fields["DELETE"].widget.attrs["class"] = "form-check-input"


RuleFormSet = forms.formset_factory(RuleForm, formset=_RuleFormSet, extra=0, can_delete=True)


class PermissionForm(AccountForm):
    """Name and description, with the rules as a formset (`rules_formset`) validated with it."""

    name = forms.CharField(label=_("Permission name"), max_length=63, help_text=NAME_RULE)
    description = forms.CharField(label=_("Description"), max_length=255, required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        if data is not None:
            self.rules_formset = RuleFormSet(data, prefix="rules")
        else:
            rules = self.instance.rules if self.instance is not None else [{"verbs": rbac.READ_VERBS,
                                                                             "resources": []}]
            self.rules_formset = RuleFormSet(prefix="rules", initial=[RuleForm.initial_for(r) for r in rules])

    def initial_from(self, permission):
        return {"name": permission.name, "description": permission.description}

    def is_valid(self):
        return all([super().is_valid(), self.rules_formset.is_valid()])

    def rules(self) -> list[dict]:
        kept = [f for f in self.rules_formset.forms if not (f.cleaned_data or {}).get("DELETE")]
        return [rule for rule in (f.rule() for f in kept if f.cleaned_data) if rule is not None]


# --- associations ------------------------------------------------------------------------------

def permission_choices(account):
    presets = [(f"preset:{p.value}", p.label) for p in rbac.Preset]
    custom = [(f"custom:{p.pk}", p.name) for p in CustomPermission.objects.filter(account=account)]
    return [(_("Preset permissions"), presets)] + ([(_("Custom permissions"), custom)] if custom else [])


class AssociationForm(AccountForm):
    """(user, namespaces, permission) on a target (R2.4); the target comes from the page, or
    from the `target` field on the generic "associate" page."""

    user = forms.ModelChoiceField(User.objects.none(), label=_("User name"))
    scope = forms.ChoiceField(label=_("Namespaces"), widget=forms.RadioSelect, initial="all",
                              choices=[("all", _("All namespaces")), ("listed", _("Listed namespaces"))])
    namespaces = forms.CharField(label=_("Namespace names"), required=False,
                                 help_text=_("Separated by spaces or commas. Namespaces that do not exist yet are "
                                             "bound as soon as they are created (at the next sync)."))
    permission = forms.ChoiceField(label=_("Permission"))

    def __init__(self, *args, targets=None, existing_namespaces=(), **kwargs):
        super().__init__(*args, **kwargs)
        if existing_namespaces:
            # The cluster's namespaces to pick from, and names to add that may not exist yet (R2.4).
            self.fields["existing_namespaces"] = forms.MultipleChoiceField(
                label=_("Namespaces of the cluster"), required=False, widget=forms.CheckboxSelectMultiple,
                choices=[(name, name) for name in existing_namespaces])
            self.fields["namespaces"].label = _("Add namespaces")
            self.fields["namespaces"].help_text = _("Namespaces that do not exist yet, separated by spaces or "
                                                    "commas: bound as soon as they are created.")
            self.order_fields(["user", "scope", "existing_namespaces", "namespaces", "permission"])
            if self.instance is not None:
                self.initial = self.initial_from(self.instance)
        self.fields["user"].queryset = (User.objects.filter(account=self.account, owned_account__isnull=True)
                                        .order_by("username"))
        self.fields["permission"].choices = permission_choices(self.account)
        if targets is not None:
            self.fields["target"] = forms.ChoiceField(label=_("Cluster or fleet"), choices=targets)
            self.order_fields(["target"])
        if self.instance is not None:
            del self.fields["user"]

    def initial_from(self, binding):
        existing = getattr(self, "fields", {}).get("existing_namespaces")  # None on the first call
        if existing is not None:
            known = {value for value, _label in existing.choices}
            return {"scope": "all" if binding.all_namespaces else "listed",
                    "existing_namespaces": [n for n in binding.namespaces if n in known],
                    "namespaces": " ".join(n for n in binding.namespaces if n not in known),
                    "permission": f"preset:{binding.preset}" if binding.preset else f"custom:{binding.permission_id}"}
        return {"scope": "all" if binding.all_namespaces else "listed", "namespaces": " ".join(binding.namespaces),
                "permission": f"preset:{binding.preset}" if binding.preset else f"custom:{binding.permission_id}"}

    def clean(self):
        data = super().clean()
        kind, _sep, value = (data.get("permission") or "").partition(":")
        data["preset"], data["custom_permission"] = "", None
        if kind == "preset":
            data["preset"] = value
        elif kind == "custom" and value.isdigit():
            data["custom_permission"] = CustomPermission.objects.filter(account=self.account, pk=int(value)).first()
            if data["custom_permission"] is None:
                self.add_error("permission", _("Unknown permission."))
        data["all_namespaces"] = data.get("scope") != "listed"
        if data.get("existing_namespaces"):
            data["namespaces"] = [*data["existing_namespaces"], *re.split(r"[\s,]+", data.get("namespaces") or "")]
        return data

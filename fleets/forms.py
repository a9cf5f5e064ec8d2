from django import forms
from django.utils.translation import gettext_lazy as _

from cceone.iam.forms import AccountForm
from cceone.iam.models import EnterpriseProject, User

from . import console_resources, rbac
from .models import CustomPermission
from .services import NAME_RULE


class ClusterPickerForm(AccountForm):
    """Clusters to put into a fleet: only clusters in no fleet, the current region unless
    "show all regions" is on (the choices come from fleets.services.joinable_clusters)."""

    all_regions = forms.BooleanField(label=_("Show clusters of all regions"), required=False)
    clusters = forms.ModelMultipleChoiceField(None, label=_("Clusters to add"), required=False,
                                              widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, joinable=None, search="", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clusters"].queryset = joinable
        self.search = search

    def picker(self) -> list[tuple]:
        """(cluster, checked) rows of the cluster table; the search only narrows what is shown."""
        chosen = {str(v) for v in (self["clusters"].value() or [])}
        clusters = self.fields["clusters"].queryset.order_by("name")
        if self.search:
            clusters = clusters.filter(name__icontains=self.search)
        return [(cluster, str(cluster.pk) in chosen) for cluster in clusters]


class FleetCreateForm(ClusterPickerForm):
    name = forms.CharField(label=_("Fleet name"), max_length=64, help_text=NAME_RULE)
    description = forms.CharField(label=_("Description"), max_length=255, required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    enterprise_project = forms.ModelChoiceField(EnterpriseProject.objects.none(), label=_("Enterprise project"))

    field_order = ["name", "enterprise_project", "description", "all_regions", "clusters"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        projects = EnterpriseProject.objects.filter(account=self.account)
        self.fields["enterprise_project"].queryset = projects
        self.fields["enterprise_project"].initial = projects.filter(name="default").first()


class AddClustersForm(ClusterPickerForm):
    pass


class FleetEditForm(AccountForm):
    name = forms.CharField(label=_("Fleet name"), max_length=64, help_text=NAME_RULE)
    description = forms.CharField(label=_("Description"), max_length=255, required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))

    def initial_from(self, fleet):
        return {"name": fleet.name, "description": fleet.description}


# --- custom permissions ------------------------------------------------------------------------

def _split(text: str) -> list[str]:
    return [part for part in text.replace(",", " ").split() if part]


RESOURCE_CHOICES = [(name, name) for _group, name in console_resources.all_resources()]


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
                                          choices=RESOURCE_CHOICES,
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

    def __init__(self, *args, targets=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = (User.objects.filter(account=self.account, owned_account__isnull=True)
                                        .order_by("username"))
        self.fields["permission"].choices = permission_choices(self.account)
        if targets is not None:
            self.fields["target"] = forms.ChoiceField(label=_("Cluster or fleet"), choices=targets)
            self.order_fields(["target"])
        if self.instance is not None:
            del self.fields["user"]

    def initial_from(self, binding):
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
        return data

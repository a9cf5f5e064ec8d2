"""The guided forms of Karmada's policies (`Kind.create_form` of federation.kinds) and the
fields the guided federated workload shares with them. A form only parses: the manifest is
built by `federation.policies`, and the API server's dry run judges it (resources.services)."""
import shlex

from django import forms
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from resources.create_forms import DeploymentForm
from resources.forms import ConsoleForm, NamespacedForm, PairsField, dns_label, dns_subdomain

from . import policies

MODE_CHOICES = [(policies.DUPLICATED, _("Duplicated: every member runs all replicas")),
                (policies.DIVIDED, _("Divided by static weights")),
                (policies.AGGREGATED, _("Aggregated: as few members as hold the replicas"))]
CONFLICT_CHOICES = [("", _("Default (Abort)")), ("Abort", _("Abort")), ("Overwrite", _("Overwrite"))]


def split_names(text: str) -> list[str]:
    return [name for name in (text or "").replace(",", " ").split() if name]


class NamesField(forms.CharField):
    """Member cluster names, separated by spaces or commas (the API: a list)."""

    def api_field(self):
        return serializers.ListField(child=serializers.CharField(max_length=253), required=False,
                                     label=str(self.label), help_text=str(self.help_text))

    def clean(self, value):
        if isinstance(value, list):
            value = " ".join(str(v) for v in value)
        names = split_names(super().clean(value))
        for name in names:
            dns_subdomain(name)
        return names


class WeightsField(PairsField):
    """`member=weight` lines: whole numbers from 0 (that member gets nothing); the API: an object."""

    def api_field(self):
        return serializers.DictField(child=serializers.IntegerField(min_value=0, max_value=10000), required=False,
                                     label=str(self.label), help_text=str(self.help_text))

    def clean(self, value):
        pairs = super().clean(value)
        weights = {}
        for name, weight in pairs.items():
            try:
                weights[name] = int(str(weight).strip())
            except ValueError:
                weights[name] = -1
            if not 0 <= weights[name] <= 10000:
                raise forms.ValidationError(_("The weight of %(name)s must be a whole number from 0 to 10000.")
                                            % {"name": name})
            dns_subdomain(name)
        return weights


class TolerationsField(forms.CharField):
    """`key[=value]:effect` lines; the API: a list of Kubernetes Tolerations."""

    widget = forms.Textarea(attrs={"rows": 2, "class": "font-monospace"})
    EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")

    def api_field(self):
        return serializers.ListField(child=serializers.DictField(), required=False, label=str(self.label),
                                     help_text="Tolerations: {key, operator (Exists|Equal), value, effect}.")

    def clean(self, value):
        if isinstance(value, list):
            for toleration in value:
                if not isinstance(toleration, dict) or set(toleration) - {"key", "operator", "value", "effect",
                                                                          "tolerationSeconds"} \
                        or toleration.get("operator", "Equal") not in ("Exists", "Equal") \
                        or toleration.get("effect", "") not in ("", *self.EFFECTS):
                    raise forms.ValidationError(_("“%(entry)s” is not a toleration.") % {"entry": toleration})
            return value
        try:
            return policies.parse_tolerations(super().clean(value))
        except ValueError as error:
            raise forms.ValidationError(_("“%(entry)s” is not key[=value]:effect (NoSchedule, PreferNoSchedule or "
                                          "NoExecute).") % {"entry": error}) from None


class SelectorsField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 2, "class": "font-monospace"})

    def clean(self, value):
        try:
            selectors = policies.parse_selectors(super().clean(value))
        except ValueError as error:
            raise forms.ValidationError(_("“%(entry)s” is not “apiVersion kind [name]”, e.g. apps/v1 Deployment web.")
                                        % {"entry": error}) from None
        if self.required and not selectors:
            raise forms.ValidationError(_("Select at least one resource."))
        return selectors


class PlacementFields(forms.Form):
    """Scheduling and differentiation: how replicas are shared, which members, which taints tolerated."""

    replica_scheduling = forms.ChoiceField(label=_("Replica scheduling"), choices=MODE_CHOICES, initial=policies.DUPLICATED)
    cluster_names = NamesField(label=_("Member clusters"), required=False, max_length=2000,
                               help_text=_("Names separated by spaces; empty: every member."))
    cluster_labels = PairsField(label=_("Member cluster labels"),
                                help_text=_("Only members with these labels (key=value per line)."))
    weights = WeightsField(label=_("Static weights"), commas=False,
                           help_text=_("Divided: one member=weight per line, e.g. member1=1 and member2=2; a member "
                                       "without a weight gets nothing."))
    tolerations = TolerationsField(label=_("Tolerations"), required=False, max_length=2000,
                                   help_text=_("Taints of members to tolerate, key[=value]:effect per line."))

    def placement(self) -> policies.Placement:
        data = self.cleaned_data
        return policies.Placement(mode=data["replica_scheduling"], cluster_names=data["cluster_names"],
                                  cluster_labels=data["cluster_labels"], weights=data["weights"],
                                  tolerations=data["tolerations"])


class OverrideFields(forms.Form):
    """One member's differences (an OverridePolicy rule)."""

    override_cluster = forms.CharField(label=_("Member cluster"), max_length=253, required=False,
                                       validators=[dns_subdomain], help_text=_("Empty: every member."))
    image_registry = forms.CharField(label=_("Image registry"), max_length=253, required=False,
                                     help_text=_("e.g. mirror.example.com"))
    image_repository = forms.CharField(label=_("Image repository"), max_length=253, required=False)
    image_tag = forms.CharField(label=_("Image tag"), max_length=128, required=False)
    override_labels = PairsField(label=_("Labels"), help_text=_("Added in that member, key=value per line."))
    override_annotations = PairsField(label=_("Annotations"), commas=False,
                                      help_text=_("Added in that member, key=value per line."))
    override_replicas = forms.IntegerField(label=_("Replicas"), min_value=0, max_value=1000, required=False)
    override_command = forms.CharField(label=_("Command"), max_length=1000, required=False)
    override_args = forms.CharField(label=_("Arguments"), max_length=1000, required=False)

    def _split(self, name):
        try:
            return shlex.split(self.cleaned_data[name] or "") or None
        except ValueError:
            raise forms.ValidationError(_("Close the quotes in the command.")) from None

    def clean_override_command(self):
        return self._split("override_command")

    def clean_override_args(self):
        return self._split("override_args")

    def cluster_override(self) -> policies.ClusterOverride:
        data = self.cleaned_data
        return policies.ClusterOverride(
            cluster=data["override_cluster"], image_registry=data["image_registry"],
            image_repository=data["image_repository"], image_tag=data["image_tag"], labels=data["override_labels"],
            annotations=data["override_annotations"], replicas=data["override_replicas"],
            command=data["override_command"], args=data["override_args"])


class _PropagationFields(forms.Form):
    selectors = SelectorsField(label=_("Resources"), max_length=5000, initial="apps/v1 Deployment my-app",
                               help_text=_("One “apiVersion kind [name]” per line; without a name, every object of "
                                           "that kind."))
    priority = forms.IntegerField(label=_("Priority"), min_value=0, max_value=1000, required=False,
                                  help_text=_("The higher wins when several policies match."))
    conflict_resolution = forms.ChoiceField(label=_("If the object exists in a member"), choices=CONFLICT_CHOICES,
                                            required=False)
    propagate_deps = forms.BooleanField(label=_("Propagate dependencies"), required=False,
                                        help_text=_("ConfigMaps, Secrets and claims the workload uses follow it."))

    def propagation(self, name, namespace) -> dict:
        data = self.cleaned_data
        return policies.propagation_policy(name, namespace, data["selectors"], self.placement(),
                                           priority=data.get("priority"),
                                           conflict_resolution=data.get("conflict_resolution") or "",
                                           propagate_deps=data.get("propagate_deps"))


class PropagationPolicyForm(NamespacedForm, _PropagationFields, PlacementFields):
    """A PropagationPolicy: what to propagate and where."""

    field_order = ["name", "namespace", "selectors"]

    def manifest(self) -> dict:
        return self.propagation(self.cleaned_data["name"], self.cleaned_data["namespace"])


class ClusterPropagationPolicyForm(ConsoleForm, _PropagationFields, PlacementFields):
    """A ClusterPropagationPolicy: like a PropagationPolicy, for objects of any namespace or none."""

    name = forms.CharField(label=_("Name"), max_length=253, validators=[dns_subdomain])
    field_order = ["name", "selectors"]

    def manifest(self) -> dict:
        return self.propagation(self.cleaned_data["name"], None)


class _OverridePolicyFields(forms.Form):
    selectors = SelectorsField(label=_("Resources"), max_length=5000, required=False,
                               initial="apps/v1 Deployment my-app",
                               help_text=_("One “apiVersion kind [name]” per line; empty: every object."))


class _OverridePolicyBase(_OverridePolicyFields):
    """An override policy from the form needs at least one override."""

    def clean(self):
        data = super().clean()
        if not self.errors and self.cluster_override().empty():
            raise forms.ValidationError(_("Give at least one override."))
        return data


class OverridePolicyForm(NamespacedForm, _OverridePolicyBase, OverrideFields):
    """An OverridePolicy with one rule: what differs in one member."""

    field_order = ["name", "namespace", "selectors"]

    def manifest(self) -> dict:
        data = self.cleaned_data
        return policies.override_policy(data["name"], data["namespace"], data["selectors"], [self.cluster_override()])


class ClusterOverridePolicyForm(ConsoleForm, _OverridePolicyBase, OverrideFields):
    """A ClusterOverridePolicy with one rule."""

    name = forms.CharField(label=_("Name"), max_length=253, validators=[dns_subdomain])
    field_order = ["name", "selectors"]

    def manifest(self) -> dict:
        return policies.override_policy(self.cleaned_data["name"], None, self.cleaned_data["selectors"],
                                        [self.cluster_override()])




# --- the guided federated workload (R5.6) -----------------------------------------------------

class FederatedWorkloadForm(DeploymentForm, PlacementFields):
    """Basic information and the container (the single-cluster console's Deployment form), then
    scheduling and differentiation; overrides per member come as `MemberOverrideForm`s."""

    KINDS = [("Deployment", "Deployment"), ("StatefulSet", "StatefulSet")]
    workload_kind = forms.ChoiceField(label=_("Workload type"), choices=KINDS, initial="Deployment")
    field_order = ["workload_kind", "name", "namespace", "image", "replicas"]

    def manifest(self) -> dict:
        self.kind = self.cleaned_data["workload_kind"]
        manifest = super().manifest()
        if self.kind == "StatefulSet":
            manifest["spec"]["serviceName"] = self.cleaned_data["name"]
        return manifest


class MemberOverrideForm(OverrideFields):
    """One member's overrides on the guided workload page (its name is the form's `member`)."""

    def __init__(self, *args, member="", **kwargs):
        super().__init__(*args, prefix=f"override-{member}", **kwargs)
        self.member = member
        del self.fields["override_cluster"]
        for f in self.fields.values():
            f.widget.attrs["class"] = "form-control form-control-sm"

    def clean(self):
        data = super().clean()
        data["override_cluster"] = self.member
        return data


class PromoteForm(forms.Form):
    """What to take over from one member (karmadactl promote, R5.7): every object of the chosen
    kinds in the namespace, narrowed by a label selector or one name."""

    member = forms.CharField(label=_("Member cluster"), max_length=253,
                             help_text=_("The member cluster whose objects the federation takes over."))
    namespace = forms.CharField(label=_("Namespace"), max_length=63, validators=[dns_label], initial="default")
    kinds = forms.MultipleChoiceField(label=_("Kinds"), required=False, widget=forms.CheckboxSelectMultiple,
                                      help_text=_("Leave all unticked to promote every kind listed."))
    label_selector = forms.CharField(label=_("Label selector"), required=False, max_length=1000,
                                     help_text=_("For example app=shop: the objects of one application."))
    name = forms.CharField(label=_("Name"), required=False, max_length=253, validators=[dns_subdomain],
                           help_text=_("One object by name (choose its kind)."))
    dependencies = forms.BooleanField(
        label=_("With what the workloads use"), required=False, initial=True,
        # karmadactl promote --dependencies
        help_text=_("Also promote the ConfigMaps, Secrets and PersistentVolumeClaims the chosen workloads use, "
                    "whatever their labels."))

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        from resources import registry

        from .promote import KINDS

        self.fields["kinds"].choices = [(plural, registry.get(plural).label) for plural in KINDS]
        if members:
            self.fields["member"] = forms.ChoiceField(label=self.fields["member"].label,
                                                      help_text=self.fields["member"].help_text,
                                                      choices=[(name, name) for name in members])

    def promote_request(self):
        from .promote import KINDS, Request

        data = self.cleaned_data
        return Request(member=data["member"], namespace=data["namespace"], kinds=tuple(data["kinds"] or KINDS),
                       label_selector=data["label_selector"].strip(), name=data["name"].strip(),
                       dependencies=data["dependencies"])

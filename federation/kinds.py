"""Karmada's kinds in the resource registry (karmada SPEC §1): the four policies (guided form
and YAML, strict validation, edits as patches that keep Karmada's permanent ids), the
bindings (read-only: the scheduler writes them) and the member clusters (read-only: they
join through the federation's fleet). Served only on a federation (`target_types`)."""
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from resources.formatting import condition, meta, spec, status
from resources.registry import Column, Kind, register

from . import policy_forms
from .policies import SYSTEM_KEYS

ON_FEDERATION = frozenset({"federation"})
POLICY = {"target_types": ON_FEDERATION, "system_keys": SYSTEM_KEYS, "strict_fields": True, "conditions": False,
          "show_status": False, "events": False}
READ_ONLY = {"target_types": ON_FEDERATION, "writable": False, "creatable": False, "system_keys": SYSTEM_KEYS,
             "events": False}


def _selectors(obj: dict, _ctx=None) -> str:
    return ", ".join(f"{s.get('kind', '')}{'/' + s['name'] if s.get('name') else ''}"
                     for s in spec(obj).get("resourceSelectors") or []) or _("every object")


def scheduling_label(placement: dict | None) -> str:
    scheduling = (placement or {}).get("replicaScheduling")
    if not scheduling or scheduling.get("replicaSchedulingType") == "Duplicated":
        return str(_("Duplicated"))
    preference = scheduling.get("replicaDivisionPreference") or "Weighted"
    if preference == "Aggregated":
        return str(_("Aggregated"))
    weights = scheduling.get("weightPreference") or {}
    if weights.get("dynamicWeight"):
        return str(_("Divided by available replicas"))
    rules = weights.get("staticWeightList") or []
    if not rules:
        return str(_("Divided equally"))
    return str(_("Divided by weight %(weights)s")) % {"weights": ":".join(str(r.get("weight")) for r in rules)}


def _affinity(obj: dict, _ctx=None) -> str:
    affinity = (spec(obj).get("placement") or {}).get("clusterAffinity") or {}
    parts = list(affinity.get("clusterNames") or [])
    parts += [f"{k}={v}" for k, v in ((affinity.get("labelSelector") or {}).get("matchLabels") or {}).items()]
    return ", ".join(parts) or str(_("every member"))


def _propagation_summary(obj: dict) -> list:
    placement = spec(obj).get("placement") or {}
    return [(_("Resources"), _selectors(obj)), (_("Member clusters"), _affinity(obj)),
            (_("Replica scheduling"), scheduling_label(placement)),
            (_("Tolerations"), ", ".join(f"{t.get('key')}:{t.get('effect', '')}"
                                         for t in placement.get("clusterTolerations") or []) or "--"),
            (_("Priority"), spec(obj).get("priority", 0)),
            (_("If the object exists in a member"), spec(obj).get("conflictResolution") or "Abort")]


def _rules(obj: dict, _ctx=None) -> str:
    rules = spec(obj).get("overrideRules") or []
    return ", ".join(", ".join((r.get("targetCluster") or {}).get("clusterNames") or [str(_("every member"))])
                     for r in rules) or "--"


def _override_summary(obj: dict) -> list:
    rows = [(_("Resources"), _selectors(obj))]
    for rule in spec(obj).get("overrideRules") or []:
        target = ", ".join((rule.get("targetCluster") or {}).get("clusterNames") or []) or _("every member")
        rows.append((target, ", ".join(sorted((rule.get("overriders") or {}).keys())) or "--"))
    return rows


PP_TEMPLATE = """apiVersion: policy.karmada.io/v1alpha1
kind: {kind}
metadata:
  name: my-policy
spec:
  resourceSelectors:
  - apiVersion: apps/v1
    kind: Deployment
    name: my-app
  placement:
    clusterAffinity:
      clusterNames: [member1, member2]
    replicaScheduling:
      replicaSchedulingType: Divided
      replicaDivisionPreference: Weighted
      weightPreference:
        staticWeightList:
        - targetCluster: {{clusterNames: [member1]}}
          weight: 1
        - targetCluster: {{clusterNames: [member2]}}
          weight: 2
"""
OP_TEMPLATE = """apiVersion: policy.karmada.io/v1alpha1
kind: {kind}
metadata:
  name: my-overrides
spec:
  resourceSelectors:
  - apiVersion: apps/v1
    kind: Deployment
    name: my-app
  overrideRules:
  - targetCluster:
      clusterNames: [member2]
    overriders:
      imageOverrider:
      - component: Registry
        operator: replace
        value: mirror.example.com
"""

PROPAGATION_COLUMNS = (Column(_("Resources"), _selectors), Column(_("Member clusters"), _affinity),
                       Column(_("Replica scheduling"), lambda o, c: scheduling_label(spec(o).get("placement"))))
OVERRIDE_COLUMNS = (Column(_("Resources"), _selectors), Column(_("Rules for"), _rules))

register(Kind("PropagationPolicy", "propagationpolicies", "policy.karmada.io", "v1alpha1", True, "federation",
              _("PropagationPolicies"), _("PropagationPolicy"), columns=PROPAGATION_COLUMNS,
              summary=_propagation_summary, create_form=policy_forms.PropagationPolicyForm,
              template=PP_TEMPLATE.format(kind="PropagationPolicy"), section="policies", **POLICY))
register(Kind("ClusterPropagationPolicy", "clusterpropagationpolicies", "policy.karmada.io", "v1alpha1", False,
              "federation", _("ClusterPropagationPolicies"), _("ClusterPropagationPolicy"), columns=PROPAGATION_COLUMNS,
              summary=_propagation_summary, create_form=policy_forms.ClusterPropagationPolicyForm,
              template=PP_TEMPLATE.format(kind="ClusterPropagationPolicy"), section="policies", **POLICY))
register(Kind("OverridePolicy", "overridepolicies", "policy.karmada.io", "v1alpha1", True, "federation",
              _("OverridePolicies"), _("OverridePolicy"), columns=OVERRIDE_COLUMNS, summary=_override_summary,
              create_form=policy_forms.OverridePolicyForm, template=OP_TEMPLATE.format(kind="OverridePolicy"),
              section="policies", **POLICY))
register(Kind("ClusterOverridePolicy", "clusteroverridepolicies", "policy.karmada.io", "v1alpha1", False,
              "federation", _("ClusterOverridePolicies"), _("ClusterOverridePolicy"), columns=OVERRIDE_COLUMNS,
              summary=_override_summary, create_form=policy_forms.ClusterOverridePolicyForm,
              template=OP_TEMPLATE.format(kind="ClusterOverridePolicy"), section="policies", **POLICY))


# --- bindings ------------------------------------------------------------------------------

def _condition_status(obj: dict, kind: str) -> str:
    found = condition(obj, kind)
    return found.get("status", "--") if found else "--"


def binding_status(obj: dict) -> tuple[str, str]:
    scheduled = condition(obj, "Scheduled")
    if scheduled and scheduled.get("status") == "False":
        return (scheduled.get("reason") or str(_("Not scheduled")), "error")
    if not scheduled:
        return (_("Scheduling"), "warn")
    applied = condition(obj, "FullyApplied")
    if applied and applied.get("status") == "True":
        return (_("Fully applied"), "ok")
    return (_("Applying"), "warn")


def placed(obj: dict, _ctx=None):
    return format_html_join(", ", "{}: {}", ((c.get("name"), c.get("replicas", "--"))
                                           for c in spec(obj).get("clusters") or [])) or "--"


def _binding_summary(obj: dict) -> list:
    resource = spec(obj).get("resource") or {}
    return [(_("Resource"), f"{resource.get('kind', '')} {resource.get('namespace', '')}/{resource.get('name', '')}"
                            .replace(" /", " ")),
            (_("Replicas"), spec(obj).get("replicas", "--")), (_("Placed in"), placed(obj)),
            (_("Replica scheduling"), scheduling_label(spec(obj).get("placement"))),
            (pgettext_lazy("karmada binding", "Scheduled"), _condition_status(obj, "Scheduled")),
            (_("Fully applied"), _condition_status(obj, "FullyApplied"))]


def _member_status(view, obj) -> dict:
    return {"member_status": [
        {"cluster": s.get("clusterName"), "applied": s.get("applied"), "health": s.get("health") or "Unknown",
         "message": s.get("appliedMessage") or "", "ready": (s.get("status") or {}).get("readyReplicas"),
         "replicas": (s.get("status") or {}).get("replicas")}
        for s in status(obj).get("aggregatedStatus") or []]}


BINDING_COLUMNS = (Column(_("Resource"), lambda o, c: f"{(spec(o).get('resource') or {}).get('kind', '')}/"
                                                      f"{(spec(o).get('resource') or {}).get('name', '')}"),
                   Column(_("Placed in"), placed))
for kind_name, plural, namespaced, label, singular in (
        ("ResourceBinding", "resourcebindings", True, _("ResourceBindings"), _("ResourceBinding")),
        ("ClusterResourceBinding", "clusterresourcebindings", False, _("ClusterResourceBindings"),
         _("ClusterResourceBinding"))):
    register(Kind(kind_name, plural, "work.karmada.io", "v1alpha2", namespaced, "federation", label, singular,
                  columns=BINDING_COLUMNS, status=binding_status, summary=_binding_summary, section="bindings",
                  detail_context=_member_status, detail_template="federation/partials/member_status.html",
                  **READ_ONLY))


# --- member clusters -------------------------------------------------------------------------

def cluster_ready(obj: dict) -> tuple[str, str]:
    ready = condition(obj, "Ready")
    if ready and ready.get("status") == "True":
        return (_("Ready"), "ok")
    if ready:
        return (ready.get("reason") or str(_("Not ready")), "error")
    return (_("Unknown"), "muted")


def _nodes(obj: dict, _ctx=None) -> str:
    summary = status(obj).get("nodeSummary") or {}
    return f"{summary.get('readyNum', 0)}/{summary.get('totalNum', 0)}" if summary else "--"


def _taints(obj: dict, _ctx=None) -> str:
    return ", ".join(f"{t.get('key')}:{t.get('effect')}" for t in spec(obj).get("taints") or []) or "--"


def _labels(obj: dict, _ctx=None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (meta(obj).get("labels") or {}).items()
                     if not k.startswith(SYSTEM_KEYS)) or "--"


register(Kind("Cluster", "clusters", "cluster.karmada.io", "v1alpha1", False, "federation", _("Member clusters"),
              _("Member cluster"), section="members", status=cluster_ready,
              columns=(Column(_("Kubernetes version"), lambda o, c: status(o).get("kubernetesVersion") or "--"),
                       Column(_("Nodes ready / total"), _nodes), Column(_("Labels"), _labels),
                       Column(_("Taints"), _taints)),
              summary=lambda o: [(_("Kubernetes version"), status(o).get("kubernetesVersion") or "--"),
                                 (_("Sync mode"), spec(o).get("syncMode") or "--"),
                                 (_("Nodes ready / total"), _nodes(o)), (_("Region"), spec(o).get("region") or "--"),
                                 (_("Taints"), _taints(o)),
                                 (_("API endpoint"), format_html("<span class=\"font-monospace\">{}</span>",
                                                                 spec(o).get("apiEndpoint") or "--"))],
              **READ_ONLY))

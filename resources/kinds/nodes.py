"""Nodes: status, roles, pods per node, and the node actions (cordon, taints, drain)."""
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from cceone.kube.gateway import KubeError

from .. import related
from ..formatting import condition, cpu, memory, meta, spec, status
from ..forms import LabelsForm, TaintForm
from ..models import NodeDrain
from ..registry import Column, Kind, register
from .pods import PODS


def node_status(node: dict) -> tuple[str, str]:
    ready = condition(node, "Ready")
    text, tone = ("Ready", "ok") if ready and ready.get("status") == "True" else ("NotReady", "error")
    if spec(node).get("unschedulable"):
        return (f"{text},SchedulingDisabled", "warn" if tone == "ok" else tone)
    return (text, tone)


def node_roles(node: dict, _ctx=None) -> str:
    prefix = "node-role.kubernetes.io/"
    roles = sorted(k[len(prefix):] for k in (meta(node).get("labels") or {}) if k.startswith(prefix))
    return ", ".join(roles) or "<none>"


def _cpu_mem(resources: dict | None) -> str:
    resources = resources or {}
    return f"{cpu(resources.get('cpu'))} CPU · {memory(resources.get('memory'))}"


def _node_pods(node: dict, ctx: dict) -> str:
    counts = ctx.get("pods_per_node")
    if counts is None:
        return "--"
    return f"{counts.get(meta(node).get('name'), 0)}/{(status(node).get('allocatable') or {}).get('pods', '--')}"


def _nodes_context(api, items) -> dict:
    """Pod counts per node: one paged list of the cluster's active pods, as the user."""
    try:
        pods = api.list_all(PODS, field_selector="status.phase!=Succeeded,status.phase!=Failed")
    except KubeError:
        return {"pods_per_node": None}
    counts: dict[str, int] = {}
    for pod in pods:
        node = spec(pod).get("nodeName")
        if node:
            counts[node] = counts.get(node, 0) + 1
    return {"pods_per_node": counts}


def _node_summary(node: dict) -> list:
    info = status(node).get("nodeInfo") or {}
    addresses = format_html_join(", ", "{} ({})", ((a.get("address"), a.get("type"))
                                                   for a in status(node).get("addresses") or []))
    return [
        (_("Roles"), node_roles(node)),
        (_("Addresses"), addresses or "--"),
        (_("Kubelet version"), info.get("kubeletVersion") or "--"),
        (_("Container runtime"), info.get("containerRuntimeVersion") or "--"),
        (_("OS image"), info.get("osImage") or "--"),
        (_("Kernel"), info.get("kernelVersion") or "--"),
        (_("Architecture"), info.get("architecture") or "--"),
        (_("Capacity"), _cpu_mem(status(node).get("capacity"))),
        (_("Allocatable"), _cpu_mem(status(node).get("allocatable"))),
        (_("Pod CIDR"), spec(node).get("podCIDR") or "--"),
        (_("Schedulable"), _("No (cordoned)") if spec(node).get("unschedulable") else _("Yes")),
    ]


def _node_extras(view, node) -> dict:
    """Its labels and taints to edit, whether it is cordoned, and its last drain."""
    drain = NodeDrain.objects.filter(account_id=view.request.user.account_id, target_type=view.target.type.name,
                                     target_id=view.target.id, node=view.name).first()
    return {
        "labels_form": LabelsForm(initial={"labels": "\n".join(f"{k}={v}" for k, v in sorted(
            (meta(node).get("labels") or {}).items())), "resource_version": meta(node).get("resourceVersion")}),
        "taints": spec(node).get("taints") or [], "taint_form": TaintForm(),
        "unschedulable": bool(spec(node).get("unschedulable")), "drain": drain,
    }


register(Kind(
    "Node", "nodes", "", "v1", False, "cluster", _("Nodes"), _("Node"),
    columns=(Column(_("Roles"), node_roles),
             Column(_("Version"), lambda o, c: (status(o).get("nodeInfo") or {}).get("kubeletVersion") or "--"),
             Column(_("Capacity"), lambda o, c: _cpu_mem(status(o).get("capacity"))),
             Column(_("Allocatable"), lambda o, c: _cpu_mem(status(o).get("allocatable"))),
             Column(_("Pods"), _node_pods)),
    status=node_status, summary=_node_summary, list_context=_nodes_context, related=related.node_pods,
    actions=frozenset({"cordon", "taints", "drain", "drain-status"}),
    detail_context=_node_extras, detail_template="resources/partials/node.html",
    template="""apiVersion: v1
kind: Node
metadata:
  name: my-node
  labels:
    kubernetes.io/hostname: my-node
""",
))

"""The one place that renders the agent YAML a member cluster applies (R3.5, R3.6)."""
import textwrap

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from .hub_tls import hub_ca_pem
from .models import RegisteredCluster

VARIANTS = {
    "public": (_("public"), "CCEONE_HUB_PUBLIC_URL"),
    "private": (_("private"), "CCEONE_HUB_PRIVATE_URL"),
}


def hub_url(variant: str) -> str:
    return getattr(settings, VARIANTS[variant][1])


def render_agent_yaml(cluster: RegisteredCluster, token: str, variant: str = "public") -> str:
    """ServiceAccount, ClusterRole and binding, Secret (token, hub CA, hub URL) and the
    two-replica `cceone-cluster-agent` Deployment in kube-system."""
    ca = hub_ca_pem().decode().strip()
    return render_to_string("clusters/agent.yaml", {
        "cluster": cluster, "token": token, "hub_url": hub_url(variant),
        "endpoint_label": VARIANTS[variant][0],
        "ca_pem": textwrap.indent(ca, "    "), "image": settings.CCEONE_AGENT_IMAGE,
    })

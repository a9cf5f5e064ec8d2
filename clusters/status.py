"""What the overview shows about a cluster: its reported facts and its hub connection."""
import json
import urllib.error
import urllib.request

from django.conf import settings

from . import facts as facts_mod


def overview_facts(cluster) -> dict:
    facts = cluster.facts or {}
    ready, total = facts_mod.node_counts(facts)
    return {"nodes_ready": ready, "nodes_total": total, "vcpu": facts_mod.billable_vcpu(facts),
            "allocation": facts_mod.allocation(facts), "nodes": facts.get("nodes") or [],
            "errors": facts.get("errors") or []}


def hub_status(cluster) -> dict | None:
    """The hub's view of the agent connections (connections, last heartbeat, RTT)."""
    request = urllib.request.Request(f"{settings.CCEONE_HUB_INTERNAL_URL}/clusters/{cluster.pk}/_status",
                                     headers={"X-Hub-Secret": settings.CCEONE_HUB_SECRET})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None

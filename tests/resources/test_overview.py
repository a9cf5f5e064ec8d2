"""The cluster overview: nodes, vCPU, requests against allocatable, pods by phase, recent
warnings and the agent connection's health; the last known facts when disconnected; and
the console's navigation in the cluster header."""
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from clusters.models import RegisteredCluster
from tests.conftest import PERSONAS, client_for
from tests.factories import ClusterFactory
from clusters.status import hub_status
from tests.live import grant, wait_until

SECTIONS = ["Namespaces", "Workloads", "Network", "Configuration", "Storage", "Nodes", "Events"]


def _summary_url(cluster):
    return reverse("resources:summary", args=["cluster", cluster.pk])


def test_the_overview_shows_capacity_allocation_and_the_agent_connection(cluster, tenant):
    wait_until(lambda: (hub_status(cluster) or {}).get("rtt_ms") is not None, what="a measured round trip")
    text = client_for(tenant.main).get(reverse("clusters:overview", args=[cluster.pk])).content.decode()
    assert re.search(r'id="node-count">3 / 3<', text)
    assert re.search(r'id="vcpu">20<', text)  # 4 + 8 + 8 cores, all Ready
    cpu = re.search(r'id="cpu-allocation">([^<]+)<', text).group(1)
    assert cpu.startswith("1.4 / 19.4 ")  # requests of active pods / allocatable of Ready nodes
    assert "GiB / 77 GiB" in re.search(r'id="memory-allocation">([^(]+)', text).group(1)
    assert re.search(r'id="agent-connections">1<', text)
    assert re.search(r'id="agent-rtt">[\d.]+ ms<', text)
    assert re.search(r'id="agent-last-heartbeat">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d<', text)
    assert f'hx-get="{_summary_url(cluster)}"' in text  # pods and warnings load live


def test_the_live_summary_counts_pods_by_phase_and_lists_warnings(cluster, tenant):
    text = client_for(tenant.main).get(_summary_url(cluster), HTTP_HX_REQUEST="true").content.decode()
    phases = dict(re.findall(r'<dt class="col-5">(\w+)</dt><dd class="col-7">(\d+)</dd>', text))
    assert phases == {"Running": "13", "Pending": "1", "Succeeded": "1", "Failed": "1", "Total": "16"}
    warnings = text.split('id="warning-events"', 1)[1]
    assert "BackOff" in warnings and "BackoffLimitExceeded" in warnings and "NodeReady" not in warnings


def test_the_summary_explains_an_unreachable_cluster(cluster, tenant):
    cluster.agent.kill()
    text = client_for(tenant.main).get(_summary_url(cluster), HTTP_HX_REQUEST="true").content.decode()
    assert text.count("alert-warning") == 2 and "edge-01" in text


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_summary_follows_iam(cluster, emulator, tenant, persona):
    user = tenant.persona(persona)
    grant(emulator, user, "view")
    response = client_for(user).get(_summary_url(cluster))
    assert response.status_code == (403 if persona == "nopolicy" else 200)


def test_a_disconnected_clusters_overview_keeps_its_last_facts(tenant):
    facts = {"nodes": [{"name": "n1", "ready": True, "capacity": {"cpu_millicores": 4000},
                        "allocatable": {"cpu_millicores": 4000, "memory_bytes": 8 * 2**30}}],
             "pod_requests": {"total": {"cpu_millicores": 1000, "memory_bytes": 2**30, "pods": 3}}}
    cluster = ClusterFactory(account=tenant.account, name="far-away", status=RegisteredCluster.Status.DISCONNECTED,
                             facts=facts, disconnected_since=timezone.now())
    text = client_for(tenant.main).get(reverse("clusters:overview", args=[cluster.pk])).content.decode()
    assert 'id="disconnected-banner"' in text
    assert re.search(r'id="node-count">1 / 1<', text) and "(25%)" in text and "(12%)" in text
    assert "Pods and events are shown while the cluster is connected." in text
    assert _summary_url(cluster) not in text


def test_the_cluster_header_leads_to_every_console_section(cluster, tenant):
    text = client_for(tenant.main).get(reverse("clusters:overview", args=[cluster.pk])).content.decode()
    tabs = re.findall(r'data-section="(\w+)">([^<]+)<', text)
    assert [label for _key, label in tabs] == SECTIONS
    assert f'href="/k8s/cluster/{cluster.pk}/deployments/" data-section="workloads"' in text
    pods = client_for(tenant.main).get(f"/k8s/cluster/{cluster.pk}/pods/").content.decode()
    assert 'class="nav-link active" href="/k8s/cluster/' in pods.split('data-section="workloads"', 1)[0].rsplit(
        "<li", 1)[1]


def test_clusters_without_a_console_have_no_console_navigation(tenant):
    cluster = ClusterFactory(account=tenant.account, status=RegisteredCluster.Status.PENDING_ACCESS)
    text = client_for(tenant.main).get(reverse("clusters:overview", args=[cluster.pk])).content.decode()
    assert "data-section=" not in text


def test_the_chinese_console_navigation(cluster, tenant):
    text = client_for(tenant.main, "zh-hans").get(reverse("clusters:overview", args=[cluster.pk])).content.decode()
    assert '<html lang="zh-hans">' in text and "总览" in text
    assert len(re.findall(r'data-section="\w+"', text)) == len(SECTIONS)

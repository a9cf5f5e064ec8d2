"""The overview's charts (R1.1, R1.2): instances by type and by region, and the resource
statistics per view from the clusters' latest heartbeats, each chart one aggregate query;
figures checked against hand-computed ones, the query count against the number of clusters."""
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cceone.iam import mirror, services
from cceone.iam.models import EnterpriseProject, Policy, Region, UserGroup
from clusters import connectivity
from clusters.models import ClusterHeartbeat, RegisteredCluster
from tests.conftest import client_for
from tests.factories import ClusterFactory, FederationFactory, FleetFactory

GI = 2**30
DIRECT = RegisteredCluster.ConnectionMode.DIRECT


def facts(nodes, requested_cpu, requested_memory, namespaces=None):
    """Heartbeat facts (docs/agent-protocol.md §6): nodes as (capacity m, allocatable m,
    allocatable bytes, ready), pod requests in total and per namespace."""
    return {
        "kubernetes": {"gitVersion": "v1.31.4"},
        "nodes": [{"name": f"n{i}", "ready": ready, "capacity": {"cpu_millicores": cap},
                   "allocatable": {"cpu_millicores": alloc, "memory_bytes": mem}}
                  for i, (cap, alloc, mem, ready) in enumerate(nodes)],
        "pod_requests": {"total": {"cpu_millicores": requested_cpu, "memory_bytes": requested_memory, "pods": 3},
                         "per_namespace": {ns: {"cpu_millicores": m} for ns, m in (namespaces or {}).items()}},
        "errors": [],
    }


def table(content: str, table_id: str) -> dict[str, list[str]]:
    """A rendered table's rows: first cell → the other cells' text."""
    body = content.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        if cells and cells[0]:
            rows[cells[0]] = cells[1:]
    return rows


def _chart_rows(content: str, chart_id: str) -> dict[str, list[str]]:
    figure = content.split(f'<figure class="chart" id="{chart_id}"', 1)[1].split("</figure>", 1)[0]
    body = figure.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        rows[cells[0]] = cells[1:]
    return rows


@pytest.fixture
def estate(tenant, other_tenant):
    """Three live clusters in two regions (one unsubscribed), two fleets, one federation."""
    regions = list(Region.objects.order_by("pk"))
    a, b = regions[0], regions[1]
    finance = EnterpriseProject.objects.create(account=tenant.account, name="finance")
    fleet = FleetFactory(account=tenant.account, name="prod")
    FleetFactory(account=tenant.account, name="empty")
    FederationFactory(account=tenant.account, region=a, fleet=fleet)
    c1 = ClusterFactory(account=tenant.account, name="cloud-1", cluster_type="cloud", region=a, fleet=fleet,
                        connection_mode=DIRECT)
    c2 = ClusterFactory(account=tenant.account, name="local-1", cluster_type="local", region=a, fleet=fleet,
                        connection_mode=DIRECT)
    c3 = ClusterFactory(account=tenant.account, name="tp-1", cluster_type="third_party", region=b,
                        enterprise_project=finance, connection_mode=DIRECT)
    gone = ClusterFactory(account=tenant.account, name="gone", cluster_type="local", region=b,
                          connection_mode=DIRECT)
    other = ClusterFactory(account=other_tenant.account, name="theirs", cluster_type="cloud", region=a,
                           connection_mode=DIRECT)
    # An earlier heartbeat of cloud-1: only the latest counts.
    connectivity.heartbeat(c1.pk, facts([(8000, 8000, 32 * GI, True)], 8000, 32 * GI))
    connectivity.heartbeat(c1.pk, facts([(4000, 3800, 8 * GI, True), (4000, 3800, 8 * GI, True)], 3800, 4 * GI))
    connectivity.heartbeat(c2.pk, facts([(2000, 2000, 4 * GI, True), (2000, 2000, 4 * GI, False)], 500, 1 * GI))
    connectivity.heartbeat(c3.pk, facts([(1000, 1000, 2 * GI, True)], 1000, 2 * GI))
    for cluster in (gone, other):
        connectivity.heartbeat(cluster.pk, facts([(64000, 64000, 256 * GI, True)], 1000, GI))
    RegisteredCluster.objects.filter(pk=gone.pk).update(status="unsubscribed")
    return {"regions": (a, b), "finance": finance, "clusters": (c1, c2, c3)}


def test_the_overview_charts_equal_the_hand_computed_figures(tenant, estate):
    a, b = estate["regions"]
    content = client_for(tenant.main).get(reverse("console:overview")).content.decode()
    # R1.1: by type; the unsubscribed cluster and the other tenant's are not counted.
    assert _chart_rows(content, "chart-types") == {
        "Cloud cluster": ["1"], "Local cluster": ["1"], "Third-party cluster": ["1"], "Fleets": ["2"],
        "Federations": ["1"]}
    assert 'id="instance-total">6<' in content
    regions = _chart_rows(content, "chart-regions")
    # cloud, local, third-party, federation; total
    assert regions[a.name] == ["1", "1", "0", "1", "3"]
    assert regions[b.name] == ["0", "0", "1", "0", "1"]
    # R1.2, from the latest heartbeats: nodes counted all (ready or not), vCPU = the R7.2 count
    # (capacity of Ready nodes), allocation = requests ÷ allocatable of Ready nodes.
    stats = table(content, "resource-statistics")
    # clusters: 2+2+1 nodes; vCPU 8+2+1; CPU (3800+500+1000)/(7600+2000+1000) = 50.0 %;
    # memory (4+1+2)/(16+4+2) GiB = 31.8 %
    assert stats["Registered clusters"] == ["3", "5", "11", "50.0 %", "31.8 %"]
    # the fleet "prod" (and the federation it is in): cloud-1 and local-1: 4300/9600, 5/20
    assert stats["Fleets"] == ["2", "4", "10", "44.8 %", "25.0 %"]
    assert stats["Federations"] == ["2", "4", "10", "44.8 %", "25.0 %"]
    assert _chart_rows(content, "chart-allocation") == {
        "Registered clusters": ["50.0 %", "31.8 %"], "Fleets": ["44.8 %", "25.0 %"],
        "Federations": ["44.8 %", "25.0 %"]}
    # Accessible: every chart is an image with a title, and its table.
    for chart in ("chart-types", "chart-regions", "chart-allocation"):
        assert f'aria-labelledby="{chart}-title"' in content and f'<title id="{chart}-title">' in content


def scoped_user(tenant, project):
    user = services.create_sub_account(tenant.main, username="acme-finance", password="Correct-Horse-42")
    policy = services.save_policy(tenant.main, None, name="finance-read", description="",
                                  actions=["clusters:list", "fleets:list", "federations:list"],
                                  scope=Policy.Scope.PROJECTS, projects=[project])
    group = UserGroup.objects.create(account=tenant.account, name="finance")
    group.members.add(user)
    group.policies.add(policy)
    mirror.sync_user(user)
    return user


def test_the_charts_count_only_what_iam_lets_the_user_list(tenant, estate):
    user = scoped_user(tenant, estate["finance"])
    content = client_for(user).get(reverse("console:overview")).content.decode()
    assert _chart_rows(content, "chart-types") == {
        "Cloud cluster": ["0"], "Local cluster": ["0"], "Third-party cluster": ["1"], "Fleets": ["0"],
        "Federations": ["0"]}
    stats = table(content, "resource-statistics")
    assert stats["Registered clusters"] == ["1", "1", "1", "100.0 %", "100.0 %"]
    assert stats["Fleets"] == ["0", "0", "0", "—", "—"]
    # Without any policy: nothing, and the notice.
    content = client_for(tenant.nopolicy).get(reverse("console:overview")).content.decode()
    assert 'id="instance-total">0<' in content and 'id="no-policy"' in content


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_overview_renders_in_both_languages(tenant, estate, language):
    response = client_for(tenant.main, language).get(reverse("console:overview"))
    assert response.status_code == 200
    if language == "zh-hans":
        assert "总览" in response.content.decode()


def grow(tenant, project, count):
    """`count` more clusters with a heartbeat each, half of them in the project, in fleets of ten."""
    regions = list(Region.objects.all())
    have = RegisteredCluster.objects.filter(account=tenant.account).count()
    default = EnterpriseProject.objects.get(account=tenant.account, name="default")
    from fleets.models import Fleet

    fleets = Fleet.objects.bulk_create([Fleet(account=tenant.account, name=f"bulk-{have + i}",
                                              enterprise_project=project) for i in range(count // 10 + 1)])
    clusters = RegisteredCluster.objects.bulk_create([
        RegisteredCluster(account=tenant.account, name=f"bulk-{have + i}", cluster_type="local",
                          region=regions[i % len(regions)], status="running",
                          enterprise_project=project if i % 2 else default, fleet=fleets[i // 10] if i % 2 else None)
        for i in range(count)])
    beats = ClusterHeartbeat.objects.bulk_create([
        ClusterHeartbeat(cluster=c, time=c.created_at, status="running", nodes_total=3, nodes_ready=3, vcpu=12,
                         cpu_requested=6000, cpu_allocatable=11000, memory_requested=GI, memory_allocatable=4 * GI)
        for c in clusters])
    for cluster, beat in zip(clusters, beats):
        cluster.latest_heartbeat = beat
    RegisteredCluster.objects.bulk_update(clusters, ["latest_heartbeat"], batch_size=500)


def test_the_query_count_is_the_same_at_20_and_at_2000_clusters(tenant, estate):
    user = scoped_user(tenant, estate["finance"])

    def queries(who):
        client = client_for(who)
        client.get(reverse("console:overview"))  # warm: session, caches
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("console:overview")).status_code == 200
        return len(ctx.captured_queries)

    grow(tenant, estate["finance"], 16)
    mirror.sync_user(user)
    few = {"main": queries(tenant.main), "scoped": queries(user)}
    grow(tenant, estate["finance"], 1980)
    mirror.sync_user(user)
    assert RegisteredCluster.objects.filter(account=tenant.account).count() == 2000
    assert {"main": queries(tenant.main), "scoped": queries(user)} == few
    content = client_for(user).get(reverse("console:overview")).content.decode()
    # The scoped user's clusters: tp-1 and every other bulk one (8 + 990), 1 + 998 × 3 nodes.
    assert table(content, "resource-statistics")["Registered clusters"][:2] == ["999", str(1 + 998 * 3)]

"""Lists at scale: a list page or API list costs the same number of queries whether the
account has a few clusters or many (no query per row), for the main account and for a
sub-account whose policy reaches only the clusters and fleets of one enterprise project."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cceone.iam import services
from cceone.iam.models import EnterpriseProject, Policy
from fleets.models import Fleet
from permissions.models import ClusterPermissionSync
from tests.conftest import client_for
from tests.factories import ClusterFactory, FleetFactory

LISTS = ["/clusters/?all_regions=on", "/api/v1/clusters/?all_regions=true", "/fleets/", "/api/v1/fleets/"]


@pytest.fixture
def project_reader(tenant):
    """A sub-account whose policy is limited to the "ops" enterprise project."""
    project = EnterpriseProject.objects.create(account=tenant.account, name="ops")
    policy = services.save_policy(tenant.main, None, name="ops-read", description="",
                                  actions=["clusters:list", "clusters:get", "fleets:list", "fleets:get"],
                                  scope=Policy.Scope.PROJECTS, projects=[project])
    user = services.create_sub_account(tenant.main, username="acme-ops", password="Correct-Horse-42")
    services.save_group(tenant.main, None, name="ops", description="", members=[user], policies=[policy])
    return user, project


def grow(tenant, project, fleets: int, clusters_per_fleet: int):
    """Fleets in the project, each with clusters (one of them with its permission-sync state),
    and as many clusters outside it that the project reader must not see."""
    for _ in range(fleets):
        fleet = FleetFactory(account=tenant.account, enterprise_project=project)
        members = [ClusterFactory(account=tenant.account, enterprise_project=project, fleet=fleet)
                   for _ in range(clusters_per_fleet)]
        ClusterPermissionSync.objects.get_or_create(cluster=members[0])
        ClusterFactory(account=tenant.account)


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("persona", ["main", "project_reader"])
def test_a_list_costs_as_many_queries_for_many_clusters_as_for_a_few(tenant, project_reader, persona):
    user, project = project_reader
    client = client_for(tenant.main if persona == "main" else user)
    grow(tenant, project, fleets=1, clusters_per_fleet=2)
    few = {url: queries(client, url) for url in LISTS}
    grow(tenant, project, fleets=7, clusters_per_fleet=4)  # 31 clusters in the project: two pages of clusters
    many = {url: queries(client, url) for url in LISTS}
    assert many == few
    assert max(many.values()) <= 15


def test_the_project_reader_still_sees_only_the_project(tenant, project_reader):
    user, project = project_reader
    grow(tenant, project, fleets=2, clusters_per_fleet=2)
    client = client_for(user)
    clusters = client.get("/api/v1/clusters/?all_regions=true").json()
    assert clusters["count"] == 4
    fleets = client.get("/api/v1/fleets/").json()["results"]
    assert len(fleets) == 2
    assert all(len(f["members"]) == 2 and f["statistics"]["clusters"] == 2 for f in fleets)
    assert sorted(len(f["clusters"]) for f in fleets) == [2, 2]
    assert sum(m["permission_sync"] is not None for f in fleets for m in f["members"]) == 2
    page = client.get("/fleets/").content.decode()
    assert page.count("Add clusters") == 0  # read-only: no per-row write links
    assert Fleet.objects.count() == 2


def test_the_user_groups_list_counts_members_in_its_one_query(tenant):
    client = client_for(tenant.main)
    few = queries(client, "/iam/groups/")
    for i in range(4):
        member = services.create_sub_account(tenant.main, username=f"acme-member-{i}", password="Correct-Horse-42")
        services.save_group(tenant.main, None, name=f"team-{i}", description="", members=[member], policies=[])
    assert queries(client, "/iam/groups/") == few
    assert '<td >1</td>' in client.get("/iam/groups/").content.decode()  # each team's one member

"""The order wizard (R3.2) over HTTP: each type end to end, and every way an order can be
refused — each with a clear message and nothing created."""
import pytest
from django.urls import reverse

from cceone.audit.models import OperationLog
from clusters.models import ClusterQuota, RegisteredCluster, SecurityGroup
from tests.conftest import client_for
from tests.factories import ClusterFactory, make_inventory, ready_to_order


@pytest.fixture
def inventory(db):
    return make_inventory()


@pytest.fixture
def orderable(tenant, inventory):
    ready_to_order(tenant.account)
    return tenant


def local_order(inventory, **overrides):
    data = {"name": "idc-beijing-01", "provider": "kubeadm on bare metal",
            "enterprise_project": "", "vpc": inventory["vpc"].pk, "subnet": inventory["subnet"].pk,
            "security_group": "auto", "apiserver_spec": inventory["apiserver_spec"].pk,
            "apiserver_eip": "on", "bind_public_ip": "on", "deletion_protection": "on"}
    data.update(overrides)
    return data


def with_project(tenant, data):
    from cceone.iam.models import EnterpriseProject

    data["enterprise_project"] = EnterpriseProject.objects.get(account=tenant.account, name="default").pk
    return data


def post(client, cluster_type, data, step):
    return client.post(reverse("clusters:order", args=[cluster_type]), {**data, "step": step})


def test_local_cluster_order_end_to_end(orderable, inventory, django_capture_on_commit_callbacks):
    client = client_for(orderable.admin)
    data = with_project(orderable, local_order(inventory))
    confirm = post(client, "local", data, "configure").content.decode()
    assert "¥0.1668 / vCPU / hour" in confirm
    assert "Product quota check" in confirm and "Passed" in confirm
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, "local", {**data, "agreed": "on"}, "submit")
    assert response.status_code == 302
    cluster = RegisteredCluster.objects.get(name="idc-beijing-01")
    # Provisioned by the task: agent credentials issued, waiting for the agent.
    assert cluster.status == RegisteredCluster.Status.PENDING_ACCESS
    assert cluster.agent_token_hash and cluster.eip_address
    assert cluster.security_group.auto_created and cluster.security_group.account == orderable.account
    assert cluster.creator == orderable.admin and cluster.deletion_protection
    steps = list(OperationLog.objects.get(target_id=str(cluster.pk), operation="create")
                 .steps.values_list("name", flat=True))
    assert steps == ["Order accepted", "Create access endpoint", "Bind EIP", "Issue agent credentials"]
    listing = client.get(reverse("clusters:list")).content.decode()
    assert "idc-beijing-01" in listing and "Pending access" in listing


def test_third_party_order_uses_an_existing_security_group(orderable, inventory, django_capture_on_commit_callbacks):
    client = client_for(orderable.main)
    data = with_project(orderable, local_order(inventory, name="ack-hangzhou", provider="Alibaba Cloud ACK",
                                               security_group=str(inventory["security_group"].pk),
                                               bind_public_ip="", apiserver_eip=""))
    with django_capture_on_commit_callbacks(execute=True):
        post(client, "third_party", {**data, "agreed": "on"}, "submit")
    cluster = RegisteredCluster.objects.get(name="ack-hangzhou")
    assert cluster.cluster_type == "third_party" and cluster.provider == "Alibaba Cloud ACK"
    assert cluster.security_group == inventory["security_group"] and cluster.eip_address is None
    assert "¥0.0556" in post(client, "third_party", {**data, "name": "ack-two"}, "configure").content.decode()


@pytest.mark.parametrize("name, message", [
    ("-leading-dash", "Invalid cluster name"),
    ("has space", "Invalid cluster name"),
    ('quo"te', "Invalid cluster name"),
    ("a/b", "Invalid cluster name"),
    ("a" * 65, "Ensure this value has at most 64 characters"),
    ("existing", "already exists"),
])
def test_bad_names_are_refused(orderable, inventory, name, message):
    ClusterFactory(account=orderable.account, name="existing")
    data = with_project(orderable, local_order(inventory, name=name))
    for step in ("configure", "submit"):
        response = post(client_for(orderable.main), "local", {**data, "agreed": "on"}, step)
        assert message in response.content.decode()
    assert RegisteredCluster.objects.filter(account=orderable.account).count() == 1


@pytest.mark.parametrize("name", ["sce-fcelf3-", "k8s", "a", "idc_01.prod", "a" * 64])
def test_names_the_federation_rule_would_refuse_are_accepted(orderable, inventory, name,
                                                             django_capture_on_commit_callbacks):
    """R3.2 only asks that names are not repeated; the federation's 4-40 rule is not theirs."""
    data = with_project(orderable, local_order(inventory, name=name))
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client_for(orderable.main), "local", {**data, "agreed": "on"}, "submit")
    assert response.status_code == 302, response.content.decode()
    assert RegisteredCluster.objects.get(account=orderable.account).name == name


def test_the_name_of_an_unsubscribed_cluster_is_free_again(orderable, inventory, other_tenant,
                                                           django_capture_on_commit_callbacks):
    ClusterFactory(account=orderable.account, name="idc-beijing-01", status=RegisteredCluster.Status.UNSUBSCRIBED)
    ClusterFactory(account=other_tenant.account, name="idc-beijing-01")  # another tenant's: no clash either
    data = with_project(orderable, local_order(inventory))
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client_for(orderable.main), "local", {**data, "agreed": "on"}, "submit")
    assert response.status_code == 302, response.content.decode()
    assert RegisteredCluster.objects.filter(account=orderable.account, name="idc-beijing-01").count() == 2
    again = post(client_for(orderable.main), "local", {**data, "agreed": "on"}, "submit")
    assert "A registered cluster named “idc-beijing-01” already exists." in again.content.decode()


def test_missing_agreement_is_refused(orderable, inventory):
    data = with_project(orderable, local_order(inventory))
    response = post(client_for(orderable.main), "local", data, "submit")
    assert "Read and accept the service agreement" in response.content.decode()
    assert not RegisteredCluster.objects.exists()


def test_failed_quota_check_blocks_the_order(orderable, inventory):
    ClusterQuota.objects.create(account=orderable.account, max_clusters=1)
    ClusterFactory(account=orderable.account)
    data = with_project(orderable, local_order(inventory))
    client = client_for(orderable.main)
    confirm = post(client, "local", data, "configure").content.decode()
    assert "already holds 1 of at most 1 registered clusters" in confirm and "Failed" in confirm
    response = post(client, "local", {**data, "agreed": "on"}, "submit")
    assert "Product quota check" in response.content.decode()
    assert RegisteredCluster.objects.filter(account=orderable.account).count() == 1
    ClusterQuota.objects.filter(account=orderable.account).update(max_clusters=5)
    recheck = client.post(reverse("clusters:order", args=["local"]), {**data, "step": "recheck", "check": "quota"})
    assert "Passed" in recheck.content.decode()


@pytest.mark.parametrize("missing, prompt", [("delegation", "Click here to authorise"), ("verification", "Verify here")])
def test_order_pages_show_the_missing_gate(tenant, inventory, missing, prompt):
    ready_to_order(tenant.account)
    if missing == "delegation":
        tenant.account.delegation.delete()
    else:
        tenant.account.verification.delete()
    client = client_for(tenant.main)
    page = client.get(reverse("clusters:order", args=["local"])).content.decode()
    assert prompt in page and 'id="order-form"' not in page
    post(client, "local", with_project(tenant, {**local_order(inventory), "agreed": "on"}), "submit")
    assert not RegisteredCluster.objects.exists()


def test_subnet_of_another_vpc_is_refused(orderable, inventory):
    from clusters.models import Subnet, Vpc

    other = Vpc.objects.create(region=inventory["vpc"].region, name="other", cidr="172.16.0.0/16")
    foreign_subnet = Subnet.objects.create(vpc=other, name="x", cidr="172.16.1.0/24")
    data = with_project(orderable, local_order(inventory, subnet=foreign_subnet.pk))
    response = post(client_for(orderable.main), "local", data, "configure")
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.parametrize("persona, allowed", [("main", True), ("admin", True), ("user", False),
                                              ("viewer", False), ("nopolicy", False)])
def test_only_main_account_and_admins_order(orderable, inventory, persona, allowed):
    response = client_for(orderable.persona(persona)).get(reverse("clusters:order", args=["local"]))
    assert response.status_code == (200 if allowed else 403)


def test_auto_created_security_groups_stay_in_their_account(orderable, other_tenant, inventory,
                                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post(client_for(orderable.main), "local",
             {**with_project(orderable, local_order(inventory)), "agreed": "on"}, "submit")
    ready_to_order(other_tenant.account)
    page = client_for(other_tenant.main).get(reverse("clusters:order", args=["local"]),
                                             {"vpc": inventory["vpc"].pk}).content.decode()
    assert "cceone-idc-beijing-01-sg" not in page
    assert SecurityGroup.objects.filter(auto_created=True).count() == 1


def test_an_ordered_cluster_is_at_once_listed_for_a_policy_limited_to_its_project(
        orderable, inventory, django_capture_on_commit_callbacks):
    from cceone.iam import services as iam
    from cceone.iam.models import EnterpriseProject, Policy

    finance = iam.save_project(orderable.main, None, name="finance", description="")
    policy = iam.save_policy(orderable.main, None, name="finance-read", description="",
                             actions=["clusters:list", "clusters:get"], scope=Policy.Scope.PROJECTS,
                             projects=[finance])
    iam.save_group(orderable.main, None, name="finance", description="", members=[orderable.nopolicy],
                   policies=[policy])
    default = EnterpriseProject.objects.get(account=orderable.account, name="default")
    client = client_for(orderable.admin)
    for name, project in (("in-finance", finance), ("in-default", default)):
        data = {**local_order(inventory, name=name), "enterprise_project": project.pk}
        with django_capture_on_commit_callbacks(execute=True):
            assert post(client, "local", {**data, "agreed": "on"}, "submit").status_code == 302
    listing = client_for(orderable.nopolicy).get(reverse("clusters:list")).content.decode()
    assert "in-finance" in listing and "in-default" not in listing
    in_finance = RegisteredCluster.objects.get(name="in-finance")
    assert client_for(orderable.nopolicy).get(reverse("clusters:overview", args=[in_finance.pk])).status_code == 200


@pytest.mark.parametrize("language, words", [("en", "added to the inventory by an operator"),
                                             ("zh-hans", "由运维人员")])
def test_an_empty_cloud_inventory_says_how_clusters_get_there(orderable, language, words):
    page = client_for(orderable.main, language).get(reverse("clusters:order", args=["cloud"])).content.decode()
    assert words in page

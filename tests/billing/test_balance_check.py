"""The balance check on order confirmations (R7.5): balance ≥ ¥100 and ≥ the next hour's
charge of the account's existing on-demand resources, in the regions where it is on; the
manual's three scenarios."""
from decimal import Decimal

import pytest

from billing.models import Price, RegionBillingSettings
from cceone.iam.models import EnterpriseProject, Region
from clusters import checks
from clusters.services import Order
from tests.billing.conftest import at, fund
from tests.factories import ClusterFactory


@pytest.fixture
def one_yuan_per_vcpu(db):
    """Local clusters at ¥1 per vCPU-hour from now on, so hourly charges are round numbers."""
    Price.objects.create(instance_type="local", unit_price=Decimal("1"), effective_from=at("2026-01-01 00:00"))


def order(account, region=None) -> Order:
    return Order(cluster_type="local", region=region or Region.default(), name="new-cluster",
                 enterprise_project=EnterpriseProject.objects.get(account=account, name="default"))


def with_resources(account, vcpu: int) -> None:
    """Existing on-demand resources whose next hour costs ¥`vcpu` (at ¥1/vCPU/h)."""
    ClusterFactory(account=account, facts={"nodes": [{"name": "n", "ready": True,
                                                      "capacity": {"cpu_millicores": vcpu * 1000}}]})


def balance_check(account, region=None):
    return checks.run_one("balance", account, order(account, region))


def test_it_is_registered_for_cluster_and_federation_orders(db):
    assert "balance" in {c.key for c in checks.checks_for("cluster")}
    assert "balance" in {c.key for c in checks.checks_for("federation")}


def test_scenario_1_no_resources_needs_100(tenant, operator, one_yuan_per_vcpu):
    fund(operator, tenant.account, Decimal("99.99"))
    result = balance_check(tenant.account)
    assert not result.passed
    assert result.label == "Account balance check"
    assert "The balance is ¥99.99; at least ¥100.00 is required" in result.message
    assert "Top up ¥0.01 or more." in result.message
    fund(operator, tenant.account, Decimal("0.01"))
    assert balance_check(tenant.account).passed


def test_scenario_2_resources_charging_300_an_hour_need_300(tenant, operator, one_yuan_per_vcpu):
    with_resources(tenant.account, 200)
    with_resources(tenant.account, 100)
    fund(operator, tenant.account, Decimal("299.99"))
    result = balance_check(tenant.account)
    assert not result.passed
    assert "at least ¥300.00 is required" in result.message
    assert "next hour's charge of your on-demand resources (¥300.00)" in result.message
    fund(operator, tenant.account, Decimal("0.01"))
    assert balance_check(tenant.account).passed


def test_scenario_3_resources_charging_50_an_hour_need_100(tenant, operator, one_yuan_per_vcpu):
    with_resources(tenant.account, 50)
    fund(operator, tenant.account, 99)
    result = balance_check(tenant.account)
    assert not result.passed and "at least ¥100.00 is required" in result.message
    fund(operator, tenant.account, 1)
    assert balance_check(tenant.account).passed


def test_the_next_hours_charge_uses_each_types_price_and_current_vcpu(tenant, operator):
    """Seeded prices: 1,000 local vCPU (¥166.80) + 1,000 cloud vCPU (¥55.60) = ¥222.40 an hour."""
    from billing import services

    with_resources(tenant.account, 1000)
    ClusterFactory(account=tenant.account, cluster_type="cloud",
                   facts={"nodes": [{"ready": True, "capacity": {"cpu_millicores": 1_000_000}}]})
    ClusterFactory(account=tenant.account, status="unsubscribed",
                   facts={"nodes": [{"ready": True, "capacity": {"cpu_millicores": 9_000_000}}]})
    assert services.required_balance(tenant.account) == (Decimal("222.40"), Decimal("222.40"))
    fund(operator, tenant.account, 200)
    assert "at least ¥222.40 is required" in balance_check(tenant.account).message


def test_other_tenants_resources_do_not_count(tenant, other_tenant, operator, one_yuan_per_vcpu):
    with_resources(other_tenant.account, 500)
    fund(operator, tenant.account, 100)
    assert balance_check(tenant.account).passed


def test_the_check_is_off_in_regions_where_it_is_disabled(tenant):
    region = Region.default()
    RegionBillingSettings.objects.create(region=region, balance_check_enabled=False)
    result = balance_check(tenant.account, region)
    assert result.passed and result.message == "No balance check in this region."
    other = Region.objects.exclude(pk=region.pk).first()
    assert not balance_check(tenant.account, other).passed  # enabled by default


def test_an_order_is_refused_with_the_amount_required(tenant, operator):
    """The clusters' order service runs every registered check before creating anything."""
    from django.core.exceptions import ValidationError

    from cceone.iam.models import RealNameVerification, ServiceDelegation
    from clusters import services as cluster_services
    from clusters.models import ApiServerSpec, RegisteredCluster, Subnet, Vpc

    region = Region.default()
    vpc = Vpc.objects.create(region=region, name="vpc-1", cidr="10.0.0.0/16")
    ServiceDelegation.objects.create(account=tenant.account, role_name="CtyunAssumeRoleForCCEONE")
    RealNameVerification.objects.create(account=tenant.account, real_name="Acme", id_number="913100001234",
                                        status=RealNameVerification.Status.APPROVED)
    new = order(tenant.account, region)
    new.provider, new.vpc = "k3s", vpc
    new.subnet = Subnet.objects.create(vpc=vpc, name="subnet-a", cidr="10.0.1.0/24")
    new.apiserver_spec = ApiServerSpec.objects.create(region=region, code="standard", name="Standard")
    fund(operator, tenant.account, 50)
    with pytest.raises(ValidationError) as refused:
        cluster_services.place_order(tenant.main, new, agreed=True)
    assert refused.value.messages == [
        "Account balance check: The balance is ¥50.00; at least ¥100.00 is required "
        "(on-demand orders need at least ¥100.00). Top up ¥50.00 or more."]
    assert not RegisteredCluster.objects.filter(name="new-cluster").exists()
    fund(operator, tenant.account, 50)
    assert cluster_services.place_order(tenant.main, new, agreed=True).name == "new-cluster"


@pytest.mark.parametrize("status", ["disconnected", "frozen", "pending_access"])
def test_clusters_that_are_not_billed_do_not_raise_the_balance_required(tenant, operator, one_yuan_per_vcpu,
                                                                        status):
    """R7.5: only what the next hour bills counts; a disconnected or frozen cluster bills nothing."""
    with_resources(tenant.account, 50)
    ClusterFactory(account=tenant.account, status=status,
                   facts={"nodes": [{"name": "n", "ready": True, "capacity": {"cpu_millicores": 500_000}}]})
    fund(operator, tenant.account, 100)
    result = balance_check(tenant.account)
    assert result.passed, result.message

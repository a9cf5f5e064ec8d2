"""What each persona may do, over the whole action catalogue, and how custom policies
limited to instances or enterprise projects reach (and stop reaching) instances."""
import pytest
from django.core.exceptions import PermissionDenied

from cceone.audit.models import AuditEvent
from cceone.iam import access, services
from cceone.iam.actions import ACTIONS, Tier
from cceone.iam.models import EnterpriseProject, Policy, UserGroup
from clusters.models import RegisteredCluster
from tests.factories import ClusterFactory

# The highest tier each persona's policies reach (None: nothing at all).
PERSONA_TIER = {"main": Tier.ADMIN, "admin": Tier.ADMIN, "user": Tier.WRITE, "viewer": Tier.READ,
                "nopolicy": None}


@pytest.mark.parametrize("persona", PERSONA_TIER)
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_system_policy_matrix(tenant, persona, action):
    user = tenant.persona(persona)
    tier = PERSONA_TIER[persona]
    expected = tier is not None and ACTIONS[action].tier <= tier
    assert access.can(user, action) is expected
    cluster = ClusterFactory(account=tenant.account)
    if action.startswith("clusters:"):
        assert access.can(user, action, cluster) is expected


@pytest.mark.parametrize("action", ["clusters:create", "clusters:delete", "federations:create",
                                    "federations:delete"])
def test_ccseone_user_cannot_order_or_unsubscribe(tenant, action):
    assert not access.can(tenant.user, action)
    assert access.can(tenant.user, action.replace("create", "update").replace("delete", "update"))


@pytest.mark.parametrize("persona", PERSONA_TIER)
def test_another_tenants_instance_is_never_reachable(tenant, other_tenant, persona):
    foreign = ClusterFactory(account=other_tenant.account)
    for action in ("clusters:get", "clusters:update", "clusters:delete"):
        assert not access.can(tenant.persona(persona), action, foreign)
    assert list(access.restrict(RegisteredCluster.objects.all(), tenant.persona(persona), "clusters:list")
                .filter(pk=foreign.pk)) == []


def _grant(tenant, user, **policy):
    policy = services.save_policy(tenant.main, None, description="", **policy)
    group = services.save_group(tenant.main, None, name=f"g-{policy.name}", description="",
                                members=[user], policies=[policy])
    return policy, group


def test_policy_limited_to_instances(tenant):
    a, b = ClusterFactory(account=tenant.account), ClusterFactory(account=tenant.account)
    user = tenant.nopolicy
    _grant(tenant, user, name="ops-a", actions=["clusters:get", "clusters:list", "clusters:update"],
           scope=Policy.Scope.INSTANCES, instances=[f"cluster:{a.pk}"])
    assert access.can(user, "clusters:get", a)
    assert access.can(user, "clusters:update", a)
    assert not access.can(user, "clusters:get", b)
    assert not access.can(user, "clusters:delete", a)
    assert list(access.restrict(RegisteredCluster.objects.all(), user, "clusters:list")) == [a]
    # The list action is granted (for some instances), so the list page opens.
    assert access.can(user, "clusters:list")


def test_policy_limited_to_enterprise_project_follows_the_project(tenant):
    finance = services.save_project(tenant.main, None, name="finance", description="")
    inside = ClusterFactory(account=tenant.account, enterprise_project=finance)
    outside = ClusterFactory(account=tenant.account)
    user = tenant.nopolicy
    _grant(tenant, user, name="finance-read", actions=["clusters:*"], scope=Policy.Scope.PROJECTS,
           projects=[finance])
    assert access.can(user, "clusters:get", inside)
    assert access.can(user, "clusters:delete", inside)
    assert not access.can(user, "clusters:get", outside)

    # A cluster created in the project later is reachable at once ...
    later = ClusterFactory(account=tenant.account, enterprise_project=finance)
    assert access.can(user, "clusters:get", later)
    # ... and one moved out of the project is not any more.
    inside.enterprise_project = EnterpriseProject.objects.get(account=tenant.account, name="default")
    inside.save()
    assert not access.can(user, "clusters:get", inside)
    assert set(access.restrict(RegisteredCluster.objects.all(), user, "clusters:list")) == {later}


def test_project_scoped_policy_allows_ordering_only_into_that_project(tenant):
    finance = services.save_project(tenant.main, None, name="finance", description="")
    _grant(tenant, tenant.nopolicy, name="finance-order", actions=["clusters:create"],
           scope=Policy.Scope.PROJECTS, projects=[finance])
    default = EnterpriseProject.objects.get(account=tenant.account, name="default")
    order = RegisteredCluster(account=tenant.account, enterprise_project=finance)
    assert access.can(tenant.nopolicy, "clusters:create", order)
    order.enterprise_project = default
    assert not access.can(tenant.nopolicy, "clusters:create", order)


def test_leaving_the_group_removes_what_the_policy_gave(tenant):
    cluster = ClusterFactory(account=tenant.account)
    _policy, group = _grant(tenant, tenant.nopolicy, name="one", actions=["clusters:get"],
                            scope=Policy.Scope.INSTANCES, instances=[f"cluster:{cluster.pk}"])
    assert access.can(tenant.nopolicy, "clusters:get", cluster)
    services.save_group(tenant.main, group, name=group.name, description="", members=[],
                        policies=list(group.policies.all()))
    tenant.nopolicy.refresh_from_db()
    assert not access.can(tenant.nopolicy, "clusters:get", cluster)


def test_account_wide_custom_policy_with_wildcards(tenant):
    _grant(tenant, tenant.nopolicy, name="lister", actions=["*:list"], scope=Policy.Scope.ACCOUNT)
    assert access.can(tenant.nopolicy, "clusters:list")
    assert access.can(tenant.nopolicy, "audit:list")
    assert not access.can(tenant.nopolicy, "clusters:get")


def test_deleting_a_policy_revokes_it(tenant):
    cluster = ClusterFactory(account=tenant.account)
    policy, _group = _grant(tenant, tenant.nopolicy, name="temp", actions=["clusters:get"],
                            scope=Policy.Scope.INSTANCES, instances=[f"cluster:{cluster.pk}"])
    services.delete_policy(tenant.main, policy)
    assert not access.can(tenant.nopolicy, "clusters:get", cluster)


def test_denied_decision_is_audited(tenant):
    with pytest.raises(PermissionDenied):
        access.require(tenant.viewer, "iam:create")
    event = AuditEvent.objects.get(action="iam:create", result=AuditEvent.Result.DENIED)
    assert event.actor == tenant.viewer
    assert event.account == tenant.account


def test_disabled_user_can_do_nothing(tenant):
    services.update_sub_account(tenant.main, tenant.admin, email="", phone="", is_active=False,
                                groups=list(UserGroup.objects.filter(name="admins", account=tenant.account)))
    tenant.admin.refresh_from_db()
    assert not access.can(tenant.admin, "clusters:list")


def test_unknown_action_is_a_programming_error(tenant):
    with pytest.raises(ValueError):
        access.can(tenant.main, "clusters:frobnicate")

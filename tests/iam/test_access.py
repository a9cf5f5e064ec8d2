"""What each persona may do, over the whole action catalogue, and how custom policies
limited to instances or enterprise projects reach (and stop reaching) instances."""
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from cceone.audit.models import AuditEvent
from cceone.iam import access, mirror, services
from cceone.iam.actions import ACTIONS, Tier
from cceone.iam.models import EnterpriseProject, Policy, UserGroup
from clusters.models import RegisteredCluster
from federation.models import Federation
from fleets.models import Fleet
from tests.conftest import client_for
from tests.factories import ClusterFactory, FleetFactory

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


# Personas holding one custom policy limited to instances or to an enterprise project.
# Their actions are `*`, as a policy saved before the service refused such patterns
# (or written straight into the database) has them: the rule must hold from `access`.
SCOPED_PERSONAS = ["scoped-cluster", "scoped-project"]


def _scoped_persona(tenant, persona):
    finance = EnterpriseProject.objects.create(account=tenant.account, name="finance")
    inside = ClusterFactory(account=tenant.account, enterprise_project=finance)
    outside = ClusterFactory(account=tenant.account)
    if persona == "scoped-cluster":
        policy = Policy.objects.create(account=tenant.account, name="one-cluster", actions=["*"],
                                       scope=Policy.Scope.INSTANCES, instances=[f"cluster:{inside.pk}"])
    else:
        policy = Policy.objects.create(account=tenant.account, name="one-project", actions=["*"],
                                       scope=Policy.Scope.PROJECTS)
        policy.projects.set([finance])
    services.save_group(tenant.main, None, name="scoped", description="", members=[tenant.nopolicy],
                        policies=[policy])
    tenant.nopolicy.refresh_from_db()
    return tenant.nopolicy, inside, outside, finance


@pytest.mark.parametrize("persona", SCOPED_PERSONAS)
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_scoped_policy_matrix(tenant, persona, action):
    """A scoped grant answers for the instances in its scope and opens the list of them;
    asked about nothing in particular it never grants a change, and ordering only into a
    project; `iam:*`, billing, audit and the like never come from it."""
    user, inside, outside, finance = _scoped_persona(tenant, persona)
    service, verb = action.split(":")
    on_instances = service in ("clusters", "fleets", "federations")
    expected = on_instances and (verb == "list" or (verb == "create" and persona == "scoped-project"))
    assert access.can(user, action) is expected
    if service == "clusters":
        assert access.can(user, action, inside) is True
        assert access.can(user, action, outside) is False
    if verb == "create" and on_instances:
        model = {"clusters": RegisteredCluster, "fleets": Fleet, "federations": Federation}[service]
        order = model(account=tenant.account, enterprise_project=finance)
        assert access.can(user, action, order) is (persona == "scoped-project")


@pytest.mark.parametrize("persona", SCOPED_PERSONAS)
def test_scoped_policy_holder_cannot_make_itself_admin(tenant, persona):
    user, inside, outside, _finance = _scoped_persona(tenant, persona)
    client = client_for(user)
    admin_policy = Policy.objects.get(account=None, name="ccseone-admin")
    response = client.post("/api/v1/iam/groups/", {"name": "escalate", "members": [user.pk],
                                                   "policies": [admin_policy.pk]}, content_type="application/json")
    assert response.status_code == 403
    assert not UserGroup.objects.filter(account=tenant.account, name="escalate").exists()
    assert client.get("/api/v1/iam/users/").status_code == 403
    listed = {c["id"] for c in client.get("/api/v1/clusters/").json()["results"]}
    assert listed == {inside.pk}


@pytest.mark.parametrize("persona", SCOPED_PERSONAS)
def test_scoped_policy_holder_lists_only_instance_endpoints(tenant, persona):
    """Every list of the API router: a scoped grant opens the lists of clusters, fleets and
    federations (showing what it reaches) and nothing of the account (IAM, audit, billing,
    permissions)."""
    from cceone.api_urls import router

    user, _inside, _outside, _finance = _scoped_persona(tenant, persona)
    client = client_for(user)
    for prefix, viewset, _basename in router.registry:
        if "(?P<" in prefix:
            continue  # one cluster's Kubernetes objects: its IAM rows are in tests/iam/test_routes.py
        list_action = (getattr(viewset, "iam_actions", None) or {}).get("list") or ""
        expected = 200 if list_action in ("clusters:list", "fleets:list", "federations:list") else 403
        assert client.get(f"/api/v1/{prefix}/").status_code == expected, prefix


@pytest.mark.parametrize("scope", [Policy.Scope.INSTANCES, Policy.Scope.PROJECTS])
@pytest.mark.parametrize("pattern", ["*", "iam:*", "*:list", "billing:list", "permissions:create"])
def test_scoped_policy_granting_account_wide_actions_is_refused(tenant, scope, pattern):
    cluster = ClusterFactory(account=tenant.account)
    default = EnterpriseProject.objects.get(account=tenant.account, name="default")
    with pytest.raises(ValidationError) as refused:
        services.save_policy(tenant.main, None, name="too-wide", description="", actions=["clusters:get", pattern],
                             scope=scope, instances=[f"cluster:{cluster.pk}"], projects=[default])
    assert f"these reach the whole account: {pattern}." in refused.value.message_dict["actions"][0]
    assert not Policy.objects.filter(account=tenant.account, name="too-wide").exists()


def test_scoped_policy_with_a_wildcard_is_refused_through_the_api(tenant):
    cluster = ClusterFactory(account=tenant.account)
    response = client_for(tenant.main).post("/api/v1/iam/policies/", {
        "name": "all-on-one", "actions": ["*"], "scope": "instances", "instances": [f"cluster:{cluster.pk}"]},
        content_type="application/json")
    assert response.status_code == 400
    assert "can only grant actions on those instances" in response.json()["actions"][0]
    assert not Policy.objects.filter(account=tenant.account, name="all-on-one").exists()


def test_scoped_update_grant_shows_buttons_only_on_its_fleet(tenant):
    """The fleet list decides its row buttons per fleet, not from "some fleet"."""
    mine, other = FleetFactory(account=tenant.account, name="mine"), FleetFactory(account=tenant.account, name="hidden-fleet")
    _grant(tenant, tenant.nopolicy, name="fleet-ops", actions=["fleets:list", "fleets:get", "fleets:update"],
           scope=Policy.Scope.INSTANCES, instances=[f"fleet:{mine.pk}"])
    page = client_for(tenant.nopolicy).get(reverse("fleets:list")).content.decode()
    assert reverse("fleets:add-clusters", args=[mine.pk]) in page
    assert reverse("fleets:add-clusters", args=[other.pk]) not in page
    assert "hidden-fleet" not in page


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
    mirror.sync_anchor(inside)  # what the admin site does when an operator moves it
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


def _two_regions():
    from cceone.iam.models import Region

    here, there = Region.objects.all()[:2]
    return here, there


def test_policy_limited_to_an_iam_project_reaches_that_regions_instances(tenant):
    """§4.5.1.2: an IAM project is a region's project; a policy scoped to it reaches the
    clusters of that region, opens their list, orders only into that region, and reaches
    no fleet (fleets belong to no region)."""
    here, there = _two_regions()
    inside = ClusterFactory(account=tenant.account, region=here)
    outside = ClusterFactory(account=tenant.account, region=there)
    fleet = FleetFactory(account=tenant.account)
    user = tenant.nopolicy
    _grant(tenant, user, name="east-ops", actions=["clusters:*", "fleets:*"], scope=Policy.Scope.IAM_PROJECTS,
           iam_projects=[here])
    assert access.can(user, "clusters:update", inside)
    assert not access.can(user, "clusters:get", outside)
    assert not access.can(user, "fleets:get", fleet)
    assert list(access.restrict(RegisteredCluster.objects.all(), user, "clusters:list")) == [inside]
    assert access.can(user, "clusters:create", RegisteredCluster(account=tenant.account, region=here))
    assert not access.can(user, "clusters:create", RegisteredCluster(account=tenant.account, region=there))
    # A cluster registered in the region later is reachable at once.
    later = ClusterFactory(account=tenant.account, region=here)
    assert access.can(user, "clusters:get", later)


def test_iam_project_policies_are_matched_before_enterprise_project_policies(tenant):
    here, _there = _two_regions()
    finance = services.save_project(tenant.main, None, name="finance", description="")
    by_project, _ = _grant(tenant, tenant.nopolicy, name="finance-all", actions=["clusters:*"],
                           scope=Policy.Scope.PROJECTS, projects=[finance])
    by_region, _ = _grant(tenant, tenant.nopolicy, name="east-read", actions=["clusters:get"],
                          scope=Policy.Scope.IAM_PROJECTS, iam_projects=[here])
    assert access.matching_order([by_project, by_region]) == [by_region, by_project]
    # Both reach a cluster of the project in that region; each grants what it lists.
    cluster = ClusterFactory(account=tenant.account, region=here, enterprise_project=finance)
    assert access.can(tenant.nopolicy, "clusters:get", cluster)
    assert access.can(tenant.nopolicy, "clusters:delete", cluster)


def test_iam_project_scope_through_the_api_takes_region_codes(tenant):
    here, there = _two_regions()
    client = client_for(tenant.main)
    missing = client.post("/api/v1/iam/policies/", {"name": "east", "actions": ["clusters:get"],
                                                     "scope": "iam_projects"}, content_type="application/json")
    assert missing.status_code == 400
    assert "Choose at least one IAM project." in str(missing.json())
    assert not Policy.objects.filter(account=tenant.account, name="east").exists()
    created = client.post("/api/v1/iam/policies/", {"name": "east", "actions": ["clusters:get"],
                                                     "scope": "iam_projects", "iam_projects": [here.code]},
                          content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json()["iam_projects"] == [here.code]
    assert list(Policy.objects.get(account=tenant.account, name="east").iam_projects.all()) == [here]


def test_policy_form_offers_iam_projects_in_chinese(tenant):
    page = client_for(tenant.main, "zh-hans").get(reverse("iam:policy-add")).content.decode()
    assert "IAM 项目" in page

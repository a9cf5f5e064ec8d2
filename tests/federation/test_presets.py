"""The preset permissions in a federation's Karmada (issue #15 item 6, presets): developers and
ops write Karmada's namespaced policies (PropagationPolicy, OverridePolicy) where they write
workloads, restricted users read them, the bindings are read only, the cluster-scoped
policies stay with administrators — and member clusters' roles are unchanged. End to end: the
fleet's associations written into the sandbox Karmada by `federation.rbac.apply`, then the
console's client acting as each user."""
import pytest
from kubernetes import client

from cceone.kube.gateway import KubeError
from federation import rbac as federation_rbac
from permissions import rbac
from permissions import services as permissions
from resources import registry
from resources.kube import Api
from sandbox.karmadasim import KarmadaServer
from tests.factories import FleetFactory

from .karmada_world import federation_on

pytestmark = pytest.mark.django_db
P = rbac.Preset


def allows(rules, verb, group, resource):
    return rbac.covers(rules, [{"apiGroups": [group], "resources": [resource], "verbs": [verb]}])


def test_federation_presets_add_karmadas_namespaced_policies_only():
    for preset in (P.DEVELOPER, P.OPS):
        rules = rbac.preset_rules(preset, "federation")
        for resource in ("propagationpolicies", "overridepolicies"):
            assert allows(rules, "create", "policy.karmada.io", resource), (preset, resource)
            assert allows(rules, "delete", "policy.karmada.io", resource), (preset, resource)
        assert allows(rules, "list", "work.karmada.io", "resourcebindings")
        assert not allows(rules, "update", "work.karmada.io", "resourcebindings")
        assert rbac.covers(rules, rbac.preset_rules(preset))  # everything a cluster's role holds
    restricted = rbac.preset_rules(P.RESTRICTED, "federation")
    assert allows(restricted, "list", "policy.karmada.io", "propagationpolicies")
    assert not allows(restricted, "create", "policy.karmada.io", "propagationpolicies")
    developer = rbac.preset_rules(P.DEVELOPER, "federation")
    for resource in ("clusterpropagationpolicies", "clusteroverridepolicies"):
        assert not allows(developer, "create", "policy.karmada.io", resource)
        assert allows(rbac.preset_rules(P.ADMIN, "federation"), "create", "policy.karmada.io", resource)
    # They still nest, and a member cluster's roles name no Karmada kind.
    order = [P.RESTRICTED, P.DEVELOPER, P.OPS, P.ADMIN]
    for lower, higher in zip(order, order[1:]):
        assert rbac.covers(rbac.preset_rules(higher, "federation"), rbac.preset_rules(lower, "federation"))
    for preset in P:
        assert "karmada" not in str(rbac.preset_rules(preset))


@pytest.fixture
def karmada():
    server = KarmadaServer(tls=True).start()
    yield server
    server.stop()


def policy(name):
    return {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy", "metadata": {"name": name},
            "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name}],
                     "placement": {"clusterAffinity": {"clusterNames": ["member1"]}}}}


def test_a_developer_propagates_in_their_namespace_and_a_restricted_user_only_reads(karmada, tenant):
    fleet = FleetFactory(account=tenant.account, name="fleet-presets")
    federation = federation_on(karmada, tenant.account, name="fed-presets", fleet=fleet)
    with karmada.api_client() as api:
        for ns in ("team-a", "team-b"):
            client.CoreV1Api(api).create_namespace({"metadata": {"name": ns}})
    permissions.associate(tenant.main, fleet, user=tenant.user, all_namespaces=False, namespaces=["team-a"],
                          preset="developer")
    summary = federation_rbac.apply(federation.pk)
    assert summary and summary["created"] and not summary["conflicts"]
    policies = registry.get("propagationpolicies")

    developer = Api(federation, tenant.user)
    created = developer.create(policies, policy("web"), "team-a")
    assert created["metadata"]["namespace"] == "team-a"
    assert [p["metadata"]["name"] for p in developer.list(policies, "team-a")["items"]] == ["web"]
    developer.create(registry.get("overridepolicies"), {
        "apiVersion": "policy.karmada.io/v1alpha1", "kind": "OverridePolicy", "metadata": {"name": "web"},
        "spec": {"overrideRules": [{"overriders": {"labelsOverrider": [
            {"operator": "add", "value": {"tier": "web"}}]}}]}}, "team-a")
    with pytest.raises(KubeError) as refused:  # not their namespace
        developer.create(policies, policy("web"), "team-b")
    assert refused.value.status == 403
    with pytest.raises(KubeError) as refused:  # cluster-scoped: administrators only
        developer.create(registry.get("clusterpropagationpolicies"), {**policy("everywhere"),
                                                                       "kind": "ClusterPropagationPolicy"})
    assert refused.value.status == 403

    # The viewer has no association: the fleet's default, restricted, in every namespace.
    viewer = Api(federation, tenant.viewer)
    assert [p["metadata"]["name"] for p in viewer.list(policies, "team-a")["items"]] == ["web"]
    with pytest.raises(KubeError) as refused:
        viewer.create(policies, policy("other"), "team-a")
    assert refused.value.status == 403
    with pytest.raises(KubeError) as refused:
        viewer.patch(policies, "web", {"spec": {"priority": 5}}, "team-a")
    assert refused.value.status == 403

"""The division preview equals the sandbox Karmada scheduler's placement (issue #15 item 3), for
random static weights (zeros included), member subsets, label affinities and replica counts:
each example creates a Deployment and the PropagationPolicy the console's builders write in
the sandbox Karmada, waits for the scheduler's ResourceBinding, and compares its
`spec.clusters` with the preview computed from the Cluster objects and the template's UID.
Every policy is also checked against Karmada's strict CRD schema."""
import itertools

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubernetes import client

from cceone_karmada import schemas
from federation.policies import DIVIDED, Placement, propagation_policy, selector
from federation.preview import preview
from sandbox.kubesim.testing import deployment_manifest
from tests.sandbox.karmada_helpers import CLUSTERS, POLICY

from .karmada_world import MEMBERS, binding, eventually, namespace, start_karmada, start_members

_names = itertools.count()
VALIDATOR = jsonschema.Draft7Validator(schemas.load("PropagationPolicy", strict=True))


@pytest.fixture(scope="module")
def karmada():
    members = start_members()
    server = start_karmada(members)
    yield server
    server.stop()
    for member in members.values():
        member.stop()


@pytest.fixture(scope="module")
def ns(karmada):
    return namespace(karmada)


@st.composite
def placements(draw):
    if draw(st.booleans()):
        chosen = draw(st.lists(st.sampled_from(MEMBERS), min_size=1, unique=True))
        labels = {}
    else:
        chosen, labels = [], draw(st.sampled_from([{}, {"env": "prod"}, {"env": "test"}]))
    weights = {name: draw(st.integers(0, 6)) for name in (chosen or MEMBERS) if draw(st.booleans())}
    return Placement(DIVIDED, cluster_names=chosen, cluster_labels=labels, weights=weights)


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(placement=placements(), replicas=st.integers(0, 40))
def test_the_preview_is_what_the_scheduler_writes(karmada, ns, placement, replicas):
    name = f"w{next(_names)}"
    policy = propagation_policy(name, ns, [selector("apps/v1", "Deployment", name)], placement)
    assert [e.message for e in VALIDATOR.iter_errors(policy)] == []
    with karmada.api_client() as api:
        template = client.AppsV1Api(api).create_namespaced_deployment(ns, deployment_manifest(name,
                                                                                             replicas=replicas))
        custom = client.CustomObjectsApi(api)
        custom.create_namespaced_custom_object(*POLICY, ns, "propagationpolicies", policy)
        clusters = custom.list_cluster_custom_object(*CLUSTERS)["items"]

    def scheduled():
        found = binding(karmada, ns, f"{name}-deployment")
        conditions = ((found or {}).get("status") or {}).get("conditions") or []
        if any(c["type"] == "Scheduled" for c in conditions):
            return found
        return None

    written = eventually(scheduled)
    expected = preview(replicas, policy["spec"]["placement"], clusters, api_version="apps/v1", kind="Deployment",
                       uid=template.metadata.uid)
    placed = {c["name"]: c.get("replicas", 0) for c in written["spec"].get("clusters") or []}
    if replicas:
        assert placed == expected.placed, (policy["spec"]["placement"], replicas)
    else:  # no replicas: the scheduler names every member that fits, without replicas
        assert expected.placed == {} and set(placed) == {m.name for m in expected.members if m.candidate}

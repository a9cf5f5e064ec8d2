"""Every policy the console's forms generate validates against Karmada's strict CRD schemas
(`cceone_karmada/crd_schemas/*.strict.schema.json`): the four guided policy forms and the
guided federated workload's PropagationPolicy and OverridePolicy, over random valid input
(hypothesis). The API server's strict dry run then judges them too (tests/federation/test_console.py)."""
import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from cceone_karmada import schemas
from federation.policy_forms import (ClusterOverridePolicyForm, ClusterPropagationPolicyForm, FederatedWorkloadForm,
                                     MemberOverrideForm, OverridePolicyForm, PropagationPolicyForm)
from federation.workloads import FederatedWorkload

MEMBERS = ["member1", "member2", "member-3", "edge.cn-north"]
name = st.from_regex(r"\A[a-z][a-z0-9-]{0,20}[a-z0-9]\Z")
label_value = st.from_regex(r"\A[a-z0-9]([a-z0-9.-]{0,10}[a-z0-9])?\Z")


def valid(manifest: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(schemas.load(manifest["kind"], strict=True))
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(manifest)]


@st.composite
def placement_data(draw):
    chosen = draw(st.lists(st.sampled_from(MEMBERS), unique=True))
    mode = draw(st.sampled_from(["duplicated", "divided", "aggregated"]))
    weights = {m: draw(st.integers(0, 10000)) for m in (chosen or MEMBERS) if draw(st.booleans())} \
        if mode == "divided" else {}
    labels = draw(st.dictionaries(st.sampled_from(["env", "zone", "team"]), label_value, max_size=2))
    tolerations = draw(st.lists(st.tuples(st.sampled_from(["maintenance", "gpu"]), st.one_of(st.none(), label_value),
                                          st.sampled_from(["NoSchedule", "PreferNoSchedule", "NoExecute"])),
                                max_size=2))
    return {"replica_scheduling": mode, "cluster_names": " ".join(chosen),
            "weights": "\n".join(f"{m}={w}" for m, w in weights.items()),
            "cluster_labels": "\n".join(f"{k}={v}" for k, v in labels.items()),
            "tolerations": "\n".join(f"{k}{'=' + v if v else ''}:{e}" for k, v, e in tolerations)}


@st.composite
def override_data(draw, prefix=""):
    fields = {"image_registry": st.sampled_from(["", "mirror.example.com", "registry.cn-north.example:5000"]),
              "image_repository": st.sampled_from(["", "library/nginx", "team/app"]),
              "image_tag": st.sampled_from(["", "1.27", "1.27-alpine"]),
              "override_labels": st.sampled_from(["", "tier=web", "tier=web\nregion=north"]),
              "override_annotations": st.sampled_from(["", "owner=ops"]),
              "override_replicas": st.sampled_from(["", "0", "4"]),
              "override_command": st.sampled_from(["", "sleep 3600", "/bin/sh -c 'echo hi'"]),
              "override_args": st.sampled_from(["", "--port 8080"])}
    return {f"{prefix}{key}": draw(value) for key, value in fields.items()}


@settings(max_examples=150, deadline=None)
@given(name, placement_data(), st.sampled_from(["", "Abort", "Overwrite"]), st.integers(0, 1000), st.booleans(),
       st.lists(st.sampled_from(["apps/v1 Deployment web", "v1 ConfigMap", "apps/v1 StatefulSet db"]), min_size=1,
                unique=True))
def test_propagation_policy_forms_write_what_karmadas_schema_accepts(policy, placement, conflict, priority, deps,
                                                                       selectors):
    data = {"name": policy, "namespace": "default", "selectors": "\n".join(selectors), "conflict_resolution": conflict,
            "priority": str(priority), "propagate_deps": "on" if deps else "", **placement}
    for form_class in (PropagationPolicyForm, ClusterPropagationPolicyForm):
        form = form_class(data)
        assert form.is_valid(), form.errors
        assert valid(form.manifest()) == []


@settings(max_examples=150, deadline=None)
@given(name, override_data(), st.sampled_from(["", "member1", "edge.cn-north"]),
       st.sampled_from(["", "apps/v1 Deployment web", "apps/v1 Deployment web\nv1 ConfigMap"]))
def test_override_policy_forms_write_what_karmadas_schema_accepts(policy, overrides, member, selectors):
    data = {"name": policy, "namespace": "default", "selectors": selectors, "override_cluster": member, **overrides}
    for form_class in (OverridePolicyForm, ClusterOverridePolicyForm):
        form = form_class(data)
        if not any(overrides.values()):
            assert not form.is_valid() and "Give at least one override." in form.errors["__all__"]
            continue
        assert form.is_valid(), form.errors
        assert valid(form.manifest()) == []


@settings(max_examples=150, deadline=None)
@given(name, placement_data(), st.sampled_from(["Deployment", "StatefulSet"]), st.integers(0, 1000),
       override_data(prefix="override-member2-"))
def test_the_guided_workload_writes_policies_karmadas_schema_accepts(workload, placement, kind, replicas, overrides):
    form = FederatedWorkloadForm({"workload_kind": kind, "name": workload, "namespace": "default",
                                  "image": "nginx:1.27", "replicas": str(replicas), **placement})
    assert form.is_valid(), form.errors
    member = MemberOverrideForm(overrides, member="member2")
    assert member.is_valid(), member.errors
    federated = FederatedWorkload(form.manifest(), form.placement(), [member.cluster_override()])
    manifests = federated.manifests()
    assert [m["kind"] for m in manifests] == [kind, "PropagationPolicy"] + (
        ["OverridePolicy"] if any(overrides.values()) else [])
    for policy in manifests[1:]:
        assert valid(policy) == []

"""resourceVersion, generation, subresources and the three patch types."""

from __future__ import annotations

import pytest
from kubernetes import client

from sandbox.kubesim.testing import deployment_manifest, status_body


def test_update_with_stale_resource_version_is_409(core: client.CoreV1Api, ns: str) -> None:
    first = core.create_namespaced_config_map(ns, {"metadata": {"name": "cfg"}, "data": {"v": "1"}})
    stale = core.api_client.sanitize_for_serialization(first)
    core.patch_namespaced_config_map("cfg", ns, {"data": {"v": "2"}})
    stale["data"] = {"v": "3"}
    with pytest.raises(client.ApiException) as e:
        core.replace_namespaced_config_map("cfg", ns, stale)
    body = status_body(e.value)
    assert (e.value.status, body["reason"]) == (409, "Conflict")
    assert body["message"] == ('Operation cannot be fulfilled on configmaps "cfg": the object has been modified; '
                               "please apply your changes to the latest version and try again")
    assert core.read_namespaced_config_map("cfg", ns).data == {"v": "2"}


def test_resource_versions_increase_globally(core: client.CoreV1Api, ns: str) -> None:
    a = core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    b = core.create_namespaced_secret(ns, {"metadata": {"name": "b"}})
    a2 = core.patch_namespaced_config_map("a", ns, {"data": {"x": "y"}})
    assert int(a.metadata.resource_version) < int(b.metadata.resource_version) < int(a2.metadata.resource_version)


def test_noop_update_keeps_resource_version(core: client.CoreV1Api, ns: str) -> None:
    made = core.create_namespaced_config_map(ns, {"metadata": {"name": "same"}, "data": {"k": "v"}})
    again = core.patch_namespaced_config_map("same", ns, {"data": {"k": "v"}})
    assert again.metadata.resource_version == made.metadata.resource_version


def test_generation_tracks_spec_changes_only(apps: client.AppsV1Api, ns: str) -> None:
    made = apps.create_namespaced_deployment(ns, deployment_manifest("gen", replicas=0))
    assert made.metadata.generation == 1
    labelled = apps.patch_namespaced_deployment("gen", ns, {"metadata": {"labels": {"x": "y"}}})
    assert labelled.metadata.generation == 1
    status = apps.patch_namespaced_deployment_status("gen", ns, {"status": {"observedGeneration": 9}})
    assert status.metadata.generation == 1
    changed = apps.patch_namespaced_deployment("gen", ns, {"spec": {"minReadySeconds": 5}})
    assert changed.metadata.generation == 2
    assert changed.metadata.uid == made.metadata.uid
    assert changed.metadata.creation_timestamp == made.metadata.creation_timestamp


def test_status_subresource_separates_status_from_spec(apps: client.AppsV1Api, ns: str, emulator) -> None:
    emulator.controllers, saved = None, emulator.controllers  # keep the controller from rewriting status
    emulator.ops.controllers = None
    try:
        apps.create_namespaced_deployment(ns, deployment_manifest("st", replicas=0))
        # status in a main-resource write is ignored...
        wire = apps.api_client.sanitize_for_serialization  # the camelCase JSON the API uses
        body = wire(apps.read_namespaced_deployment("st", ns))
        body["status"] = {"replicas": 42}
        body["spec"]["minReadySeconds"] = 3
        after = apps.replace_namespaced_deployment("st", ns, body)
        assert after.spec.min_ready_seconds == 3 and after.status.replicas != 42
        # ...and a /status write changes only status
        current = wire(apps.read_namespaced_deployment("st", ns))
        current["status"] = {"replicas": 7, "observedGeneration": 2}
        current["spec"]["minReadySeconds"] = 99
        written = apps.replace_namespaced_deployment_status("st", ns, current)
        assert written.status.replicas == 7 and written.spec.min_ready_seconds == 3
        assert apps.read_namespaced_deployment_status("st", ns).status.replicas == 7
    finally:
        emulator.ops.controllers = emulator.controllers = saved


def test_scale_subresource(apps: client.AppsV1Api, ns: str) -> None:
    apps.create_namespaced_deployment(ns, deployment_manifest("sc", replicas=1))
    scale = apps.read_namespaced_deployment_scale("sc", ns)
    assert scale.kind == "Scale" and scale.api_version == "autoscaling/v1"
    assert scale.spec.replicas == 1 and scale.status.selector == "app=sc"
    patched = apps.patch_namespaced_deployment_scale("sc", ns, {"spec": {"replicas": 3}})
    assert patched.spec.replicas == 3
    assert apps.read_namespaced_deployment("sc", ns).spec.replicas == 3
    replaced = apps.replace_namespaced_deployment_scale("sc", ns, {"metadata": {"name": "sc"}, "spec": {"replicas": 0}})
    assert replaced.spec.replicas == 0
    with pytest.raises(client.ApiException) as e:
        apps.replace_namespaced_deployment_scale("sc", ns, {"metadata": {"name": "sc", "resourceVersion": "1"},
                                                            "spec": {"replicas": 2}})
    assert e.value.status == 409


def test_strategic_merge_patch_merges_containers_by_name(apps: client.AppsV1Api, ns: str) -> None:
    body = deployment_manifest("smp", replicas=0)
    body["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "envoy:1.30",
                                                           "env": [{"name": "A", "value": "1"}]})
    apps.create_namespaced_deployment(ns, body)
    patched = apps.patch_namespaced_deployment("smp", ns, {"spec": {"template": {"spec": {"containers": [
        {"name": "sidecar", "image": "envoy:1.31", "env": [{"name": "B", "value": "2"}]}]}}}})
    containers = {c.name: c for c in patched.spec.template.spec.containers}
    assert containers["web"].image == "nginx:1.25"  # untouched, not replaced by the patch's list
    assert containers["sidecar"].image == "envoy:1.31"
    assert [(e.name, e.value) for e in containers["sidecar"].env] == [("A", "1"), ("B", "2")]
    deleted = apps.patch_namespaced_deployment("smp", ns, {"spec": {"template": {"spec": {"containers": [
        {"name": "sidecar", "$patch": "delete"}]}}}})
    assert [c.name for c in deleted.spec.template.spec.containers] == ["web"]


def test_merge_patch_replaces_lists_and_null_deletes(dyn, ns: str) -> None:
    pods = dyn.resources.get(api_version="v1", kind="Pod")
    pods.create(namespace=ns, body={"metadata": {"name": "m", "labels": {"a": "1", "b": "2"}}, "spec": {
        "containers": [{"name": "one", "image": "nginx"}, {"name": "two", "image": "redis"}]}})
    patched = pods.patch(name="m", namespace=ns, content_type="application/merge-patch+json", body={
        "metadata": {"labels": {"a": None}},
        "spec": {"containers": [{"name": "two", "image": "redis:7"}]}})
    assert dict(patched.metadata.labels) == {"b": "2"}
    assert [(c.name, c.image) for c in patched.spec.containers] == [("two", "redis:7")]


def test_json_patch(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "j"}, "data": {"a": "1"}})
    patched = core.patch_namespaced_config_map("j", ns, [
        {"op": "add", "path": "/data/b", "value": "2"},
        {"op": "replace", "path": "/data/a", "value": "10"},
        {"op": "test", "path": "/data/b", "value": "2"},
    ])
    assert patched.data == {"a": "10", "b": "2"}
    with pytest.raises(client.ApiException) as e:
        core.patch_namespaced_config_map("j", ns, [{"op": "test", "path": "/data/a", "value": "nope"}])
    assert e.value.status == 422


def test_patch_with_stale_resource_version_is_409(core: client.CoreV1Api, ns: str) -> None:
    made = core.create_namespaced_config_map(ns, {"metadata": {"name": "p"}})
    core.patch_namespaced_config_map("p", ns, {"data": {"a": "1"}})
    with pytest.raises(client.ApiException) as e:
        core.patch_namespaced_config_map("p", ns, {"metadata": {"resourceVersion": made.metadata.resource_version},
                                                   "data": {"a": "2"}})
    assert e.value.status == 409


def test_server_side_apply_creates_then_updates(api: client.ApiClient, core: client.CoreV1Api, ns: str) -> None:
    from kubernetes import dynamic

    cms = dynamic.DynamicClient(api).resources.get(api_version="v1", kind="ConfigMap")
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa", "namespace": ns}, "data": {"a": "1"}}
    cms.server_side_apply(body=body, name="ssa", namespace=ns, field_manager="test")
    body["data"] = {"a": "2", "b": "3"}
    cms.server_side_apply(body=body, name="ssa", namespace=ns, field_manager="test")
    assert core.read_namespaced_config_map("ssa", ns).data == {"a": "2", "b": "3"}


def test_delete_preconditions(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "pre"}})
    with pytest.raises(client.ApiException) as e:
        core.delete_namespaced_config_map("pre", ns, body={"preconditions": {"uid": "not-the-uid"}})
    assert e.value.status == 409 and "Precondition failed: UID in precondition: not-the-uid" in status_body(e.value)["message"]

"""Override policies as Karmada applies them (karmada SPEC §3): order across policies, every overrider."""

from __future__ import annotations

import json

import pytest
import yaml

from cceone_karmada import overrides

DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web", "tier": "front"},
                           "annotations": {"owner": "ops"}},
              "spec": {"replicas": 3, "template": {"spec": {"containers": [
                  {"name": "web", "image": "nginx:1.25", "command": ["nginx"], "args": ["-g", "daemon off;"]},
                  {"name": "side", "image": "docker.io/library/busybox:1.36"}]}}}}
CLUSTER_A = {"metadata": {"name": "member1", "labels": {"region": "north"}}, "spec": {"provider": "hws"}}
CLUSTER_B = {"metadata": {"name": "member2", "labels": {"region": "south"}}, "spec": {"provider": "aws"}}


def op(name: str, rules: list, selectors: list | None = None, kind: str = "OverridePolicy",
       namespace: str = "shop") -> dict:
    metadata = {"name": name, **({"namespace": namespace} if kind == "OverridePolicy" else {})}
    return {"apiVersion": "policy.karmada.io/v1alpha1", "kind": kind, "metadata": metadata,
            "spec": {"resourceSelectors": selectors or [], "overrideRules": rules}}


def test_image_overrider_on_every_container_of_the_targeted_cluster_only() -> None:
    policy = op("mirror", [{"targetCluster": {"clusterNames": ["member1"]},
                            "overriders": {"imageOverrider": [{"component": "Registry", "operator": "replace",
                                                               "value": "registry.cn-north.example"}]}}])
    a, applied = overrides.apply_policies(DEPLOYMENT, CLUSTER_A, [], [policy])
    b, _ = overrides.apply_policies(DEPLOYMENT, CLUSTER_B, [], [policy])
    images = [c["image"] for c in a["spec"]["template"]["spec"]["containers"]]
    assert images == ["registry.cn-north.example/nginx:1.25", "registry.cn-north.example/library/busybox:1.36"]
    assert applied == ["shop/mirror"]
    assert b == DEPLOYMENT
    # A predicate narrows it to one image; "add" appends to the component.
    tag = {"imageOverrider": [{"predicate": {"path": "/spec/template/spec/containers/0/image"},
                               "component": "Tag", "operator": "add", "value": "-alpine"}]}
    assert overrides.apply_overriders(DEPLOYMENT, tag)["spec"]["template"]["spec"]["containers"][0]["image"] == \
        "nginx:1.25-alpine"


def test_command_args_labels_annotations_plaintext_and_field() -> None:
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "shop"},
              "data": {"app.yaml": yaml.safe_dump({"log": {"level": "info"}}), "app.json": json.dumps({"a": 1})}}
    got = overrides.apply_overriders(DEPLOYMENT, {
        "commandOverrider": [{"containerName": "web", "operator": "add", "value": ["-c", "/etc/nginx.conf"]}],
        "argsOverrider": [{"containerName": "web", "operator": "remove", "value": ["-g"]}],
        "labelsOverrider": [{"operator": "add", "value": {"cluster": "north"}},
                            {"operator": "remove", "value": {"tier": ""}}],
        "annotationsOverrider": [{"operator": "replace", "value": {"owner": "sre", "absent": "x"}}],
        "plaintext": [{"path": "/spec/replicas", "operator": "replace", "value": 5}]})
    web = got["spec"]["template"]["spec"]["containers"][0]
    assert web["command"] == ["nginx", "-c", "/etc/nginx.conf"] and web["args"] == ["daemon off;"]
    assert got["metadata"]["labels"] == {"app": "web", "cluster": "north"}
    assert got["metadata"]["annotations"] == {"owner": "sre"}
    assert got["spec"]["replicas"] == 5
    fields = overrides.apply_overriders(config, {"fieldOverrider": [
        {"fieldPath": "/data/app.yaml", "yaml": [{"subPath": "/log/level", "operator": "replace", "value": "debug"}]},
        {"fieldPath": "/data/app.json", "json": [{"subPath": "/b", "operator": "add", "value": 2}]}]})
    assert yaml.safe_load(fields["data"]["app.yaml"]) == {"log": {"level": "debug"}}
    assert json.loads(fields["data"]["app.json"]) == {"a": 1, "b": 2}
    with pytest.raises(overrides.OverrideError):
        overrides.apply_overriders(DEPLOYMENT, {"plaintext": [{"path": "/spec/nothing/here", "operator": "replace",
                                                               "value": 1}]})


def test_cluster_policies_first_then_namespaced_most_specific_last() -> None:
    def label(value: str) -> dict:
        return {"overriders": {"labelsOverrider": [{"operator": "add", "value": {"who": value}}]}}

    by_name = op("a-by-name", [label("name")], [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}])
    by_label = op("b-by-label", [label("label")], [{"apiVersion": "apps/v1", "kind": "Deployment",
                                                    "labelSelector": {"matchLabels": {"app": "web"}}}])
    match_all = op("c-all", [label("all")])
    cluster_wide = op("z-cluster", [label("cluster")], kind="ClusterOverridePolicy")
    elsewhere = op("other-ns", [label("elsewhere")], namespace="other")
    order = overrides.ordered_policies(DEPLOYMENT, [cluster_wide], [by_name, match_all, by_label, elsewhere])
    assert [p["metadata"]["name"] for p in order] == ["z-cluster", "c-all", "b-by-label", "a-by-name"]
    got, applied = overrides.apply_policies(DEPLOYMENT, CLUSTER_A, [cluster_wide], [by_label, match_all, by_name])
    assert got["metadata"]["labels"]["who"] == "name"
    assert applied == ["z-cluster", "shop/c-all", "shop/b-by-label", "shop/a-by-name"]

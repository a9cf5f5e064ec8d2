"""`federation.drift`, pure: which fields of the template, the rendered object and the member's
live object are listed as drift or override, which are ignored, and that the re-sync body
leaves no drift behind while keeping what Karmada keeps."""
import copy

from federation import drift

TEMPLATE = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop", "uid": "t-1", "resourceVersion": "7", "generation": 3,
                 "labels": {"app": "web", "propagationpolicy.karmada.io/permanent-id": "p-1"},
                 "annotations": {"propagationpolicy.karmada.io/name": "web"}},
    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                 {"name": "web", "image": "nginx:1.27", "args": ["--port", "80"],
                  "env": [{"name": "MODE", "value": "prod"}],
                  "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}]}}},
    "status": {"replicas": 3, "readyReplicas": 3},
}


def rendered_for(replicas=1, image="nginx:1.28"):
    """What the binding controller writes into the member's Work: the share, the override, Karmada's marks."""
    rendered = copy.deepcopy(TEMPLATE)
    rendered.pop("status")
    rendered["metadata"] = {"name": "web", "namespace": "shop",
                            "labels": {"app": "web", "karmada.io/managed": "true",
                                       "propagationpolicy.karmada.io/permanent-id": "p-1"},
                            "annotations": {"work.karmada.io/name": "web-7d8f",
                                            "resourcetemplate.karmada.io/uid": "t-1",
                                            "policy.karmada.io/applied-overrides": "[]"}}
    rendered["spec"]["replicas"] = replicas
    rendered["spec"]["template"]["spec"]["containers"][0]["image"] = image
    return rendered


def live_from(rendered):
    """The member's object as its API server returns it: server metadata, defaults, status."""
    live = copy.deepcopy(rendered)
    live["metadata"].update(uid="m-1", resourceVersion="42", generation=5, creationTimestamp="2026-12-07T10:00:00Z",
                            managedFields=[{"manager": "karmada"}], finalizers=["example.com/keep"])
    live["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "4"
    live["spec"].update(revisionHistoryLimit=10, progressDeadlineSeconds=600,
                        strategy={"type": "RollingUpdate"})
    container = live["spec"]["template"]["spec"]["containers"][0]
    container.update(imagePullPolicy="IfNotPresent", terminationMessagePath="/dev/termination-log")
    container["resources"]["requests"]["cpu"] = "0.5"  # normalised quantities
    live["spec"]["template"]["spec"]["dnsPolicy"] = "ClusterFirst"
    live["status"] = {"replicas": 1, "readyReplicas": 1, "observedGeneration": 5}
    return live


def listed(rows):
    return {(row.field, row.kind): row.texts() for row in rows}


def test_a_member_as_rendered_has_no_drift_only_karmadas_overrides():
    rendered = rendered_for()
    rows = drift.differences(TEMPLATE, rendered, live_from(rendered))
    assert listed(rows) == {
        ("spec.replicas", "override"): ("3", "1", "1"),
        ("spec.template.spec.containers[web].image", "override"): ("nginx:1.27", "nginx:1.28", "nginx:1.28"),
    }


def test_changed_fields_in_the_member_are_drift_with_the_three_values():
    rendered = rendered_for()
    live = live_from(rendered)
    container = live["spec"]["template"]["spec"]["containers"][0]
    container["image"] = "nginx:1.29"
    container["env"][0]["value"] = "debug"
    container["args"] = ["--port", "8080"]
    live["metadata"]["labels"]["app"] = "web-hotfix"
    rows = drift.differences(TEMPLATE, rendered, live)
    assert listed(rows) == {
        ("spec.template.spec.containers[web].image", "drift"): ("nginx:1.27", "nginx:1.28", "nginx:1.29"),
        ("spec.template.spec.containers[web].env[MODE].value", "drift"): ("prod", "prod", "debug"),
        ("spec.template.spec.containers[web].args", "drift"): ('["--port", "80"]', '["--port", "80"]',
                                                              '["--port", "8080"]'),
        ('metadata.labels["app"]', "drift"): ("web", "web", "web-hotfix"),
        ("spec.replicas", "override"): ("3", "1", "1"),
    }
    image = next(row for row in rows if row.field.endswith(".image"))
    assert image.overridden and image.as_dict()["live"] == "nginx:1.29"
    assert not next(row for row in rows if row.field.endswith("value")).overridden


def test_additions_in_the_member_are_drift_where_no_server_defaults_them():
    rendered = rendered_for()
    live = live_from(rendered)
    live["metadata"]["labels"]["hotfix"] = "yes"
    live["spec"]["template"]["metadata"]["annotations"] = {"kubectl.kubernetes.io/restartedAt": "now"}
    spec = live["spec"]["template"]["spec"]
    spec["containers"].append({"name": "debug", "image": "busybox"})
    spec["containers"][0]["env"].append({"name": "TRACE", "value": "1"})
    spec["nodeSelector"] = {"disk": "ssd"}  # indistinguishable from a default: not compared
    rows = drift.differences(TEMPLATE, rendered, live)
    drifted = {row.field: row for row in rows if row.kind == drift.DRIFT}
    assert set(drifted) == {'metadata.labels["hotfix"]', "spec.template.spec.containers[debug]",
                            "spec.template.spec.containers[web].env[TRACE]",
                            'spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]'}
    added = drifted["spec.template.spec.containers[debug]"].as_dict()
    assert added["live"] == {"name": "debug", "image": "busybox"}
    assert added["present"] == {"template": False, "rendered": False, "live": True}


def test_a_removed_field_or_item_is_drift():
    rendered = rendered_for()
    live = live_from(rendered)
    del live["spec"]["template"]["spec"]["containers"][0]["env"]
    del live["metadata"]["labels"]["app"]
    rows = drift.differences(TEMPLATE, rendered, live)
    assert listed(rows) == {
        ("spec.template.spec.containers[web].env", "drift"): ('[{"name": "MODE", "value": "prod"}]',
                                                             '[{"name": "MODE", "value": "prod"}]', ""),
        ('metadata.labels["app"]', "drift"): ("web", "web", ""),
        ("spec.replicas", "override"): ("3", "1", "1"),
        ("spec.template.spec.containers[web].image", "override"): ("nginx:1.27", "nginx:1.28", "nginx:1.28")}


def test_karmada_marks_server_metadata_status_and_member_annotations_are_ignored():
    rendered = rendered_for()
    live = live_from(rendered)
    live["metadata"]["labels"]["karmada.io/managed"] = "false"
    live["metadata"]["annotations"]["work.karmada.io/name"] = "other"
    live["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = "{}"
    live["status"]["readyReplicas"] = 0
    assert [row for row in drift.differences(TEMPLATE, rendered, live) if row.kind == drift.DRIFT] == []
    for path in (("status", "replicas"), ("metadata", "uid"), ("metadata", "managedFields"),
                 ("metadata", "labels", "propagationpolicy.karmada.io/permanent-id"),
                 ("metadata", "annotations", "deployment.kubernetes.io/revision")):
        assert drift.ignored(path)
    assert not drift.ignored(("metadata", "labels", "app")) and not drift.ignored(("spec", "replicas"))


def test_retained_replicas_are_not_drift_and_resync_keeps_them():
    rendered = rendered_for(replicas=2)
    rendered["metadata"]["labels"][drift.RETAIN_REPLICAS_LABEL] = "true"
    live = live_from(rendered)
    live["spec"]["replicas"] = 7  # an autoscaler in the member
    assert [row for row in drift.differences(TEMPLATE, rendered, live) if row.kind == drift.DRIFT] == []
    assert drift.resync_body(rendered, live)["spec"]["replicas"] == 7


def test_the_resync_body_is_the_rendered_object_with_what_karmada_keeps():
    rendered = rendered_for()
    live = live_from(rendered)
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.29"
    live["metadata"]["labels"]["hotfix"] = "yes"
    body = drift.resync_body(rendered, live)
    assert body["spec"] == rendered["spec"] and "status" not in body
    meta = body["metadata"]
    assert (meta["resourceVersion"], meta["uid"], meta["finalizers"]) == ("42", "m-1", ["example.com/keep"])
    assert "managedFields" not in meta and "generation" not in meta
    assert meta["labels"] == {"app": "web", "karmada.io/managed": "true",
                              "propagationpolicy.karmada.io/permanent-id": "p-1"}
    assert meta["annotations"]["deployment.kubernetes.io/revision"] == "4"
    assert meta["annotations"]["work.karmada.io/name"] == "web-7d8f"
    # What the member then holds (its server adds its defaults again) has no drift.
    after = live_from(body)
    after["metadata"].update({k: live["metadata"][k] for k in ("resourceVersion", "uid")})
    assert [row for row in drift.differences(TEMPLATE, rendered, after) if row.kind == drift.DRIFT] == []
    assert rendered == rendered_for()  # the inputs are not changed


def test_a_service_keeps_its_allocated_ip_and_node_ports():
    rendered = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "shop", "namespace": "shop"},
                "spec": {"type": "NodePort", "selector": {"app": "shop"}, "ports": [{"port": 80}]}}
    live = copy.deepcopy(rendered)
    live["metadata"]["resourceVersion"] = "9"
    live["spec"].update(clusterIP="10.0.0.7", clusterIPs=["10.0.0.7"], ports=[{"port": 80, "nodePort": 30080}])
    assert drift.differences(rendered, rendered, live) == []
    body = drift.resync_body(rendered, live)
    assert body["spec"]["clusterIP"] == "10.0.0.7" and body["spec"]["ports"] == [{"port": 80, "nodePort": 30080}]


def test_paths_read_as_the_user_writes_them():
    assert drift.path_text(("spec", "template", "spec", "containers", drift.Item("web"), "image")) == \
        "spec.template.spec.containers[web].image"
    assert drift.path_text(("metadata", "labels", "app.kubernetes.io/name")) == \
        'metadata.labels["app.kubernetes.io/name"]'
    assert drift.path_text(("spec", "tolerations", 0, "key")) == "spec.tolerations[0].key"


def test_missing_sides_compare_as_nothing():
    rendered = rendered_for()
    # The member's object unreadable or gone: only the overrides, no drift.
    assert {row.kind for row in drift.differences(TEMPLATE, rendered, None)} == {drift.OVERRIDE}
    # Nothing rendered yet: nothing to compare.
    assert drift.differences(TEMPLATE, None, live_from(rendered)) == []

"""Which policy claims a template (karmada SPEC §2): priority, then precision, then name."""

from __future__ import annotations

from sandbox.karmadasim.controllers.detector import best_policy, binding_name

TEMPLATE = {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}}}


def pp(policy: str, priority: int = 0, **selector) -> dict:
    return {"kind": "PropagationPolicy", "metadata": {"name": policy, "namespace": "shop"},
            "spec": {"priority": priority, "resourceSelectors": [
                {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", **selector}]}}


def test_priority_then_precision_then_name() -> None:
    by_kind, by_label = pp("a-kind"), pp("b-label", labelSelector={"matchLabels": {"app": "web"}})
    by_name, other_name = pp("c-name", name="web"), pp("d-other", name="api")
    assert best_policy(TEMPLATE, [by_kind, by_label, other_name])["metadata"]["name"] == "b-label"
    assert best_policy(TEMPLATE, [by_kind, by_label, by_name])["metadata"]["name"] == "c-name"
    assert best_policy(TEMPLATE, [pp("z-kind", priority=5), by_name])["metadata"]["name"] == "z-kind"
    assert best_policy(TEMPLATE, [pp("b-kind"), pp("a-kind2")])["metadata"]["name"] == "a-kind2"
    assert best_policy(TEMPLATE, [other_name]) is None
    deleting = pp("e-name", name="web")
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert best_policy(TEMPLATE, [deleting, by_kind])["metadata"]["name"] == "a-kind"


def test_binding_names() -> None:
    assert binding_name("web", "Deployment") == "web-deployment"
    assert binding_name("system:aggregate", "ClusterRole") == "system.aggregate-clusterrole"

"""A CRD's structural schema is enforced like the apiextensions server does: unknown fields pruned
(a Warning, or 400 with fieldValidation=Strict), defaults filled in, violations refused with 422."""

from __future__ import annotations

import pytest
from kubernetes import client, dynamic
from kubernetes.dynamic.exceptions import DynamicApiError

from sandbox.kubesim.testing import status_body

WIDGETS = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
             "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {
                               "type": "object",
                               "properties": {
                                   "spec": {"type": "object", "required": ["size"], "properties": {
                                       "size": {"type": "integer", "minimum": 1},
                                       "mode": {"type": "string", "enum": ["Fast", "Slow"], "default": "Slow"},
                                       "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                                       "parts": {"type": "array", "minItems": 1, "items": {
                                           "type": "object", "properties": {"name": {"type": "string",
                                                                                     "maxLength": 5}}}},
                                       "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}},
                                   "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}}}}}]},
}


@pytest.fixture(scope="module")
def widgets(api: client.ApiClient) -> client.CustomObjectsApi:
    client.ApiextensionsV1Api(api).create_custom_resource_definition(WIDGETS)
    return client.CustomObjectsApi(api)


def widget(name: str, **spec) -> dict:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


def _post(dyn: dynamic.DynamicClient, ns: str, body: dict, strict: bool = False):
    query = [("fieldValidation", "Strict")] if strict else []
    return dyn.request("POST", f"/apis/example.com/v1/namespaces/{ns}/widgets", body=body, query_params=query,
                       serialize=False)


def test_defaults_are_filled_and_unknown_fields_pruned_with_a_warning(widgets, dyn, ns: str) -> None:
    body = widget("w1", size=2, extra="x", labels={"a": "b"}, parts=[{"name": "p", "colour": "red"}],
                  free={"anything": {"goes": 1}})
    response = _post(dyn, ns, body)
    assert response.status == 201
    warnings = response.headers.getlist("Warning")
    assert any('unknown field \\"spec.extra\\"' in w for w in warnings), warnings
    assert any('unknown field \\"spec.parts[0].colour\\"' in w for w in warnings), warnings
    stored = widgets.get_namespaced_custom_object("example.com", "v1", ns, "widgets", "w1")
    assert stored["spec"] == {"size": 2, "mode": "Slow", "labels": {"a": "b"}, "parts": [{"name": "p"}],
                              "free": {"anything": {"goes": 1}}}


def test_strict_field_validation_refuses_unknown_fields(widgets, dyn, ns: str) -> None:
    with pytest.raises(DynamicApiError) as exc:
        _post(dyn, ns, widget("w2", size=1, extra="x"), strict=True)
    assert exc.value.status == 400
    assert status_body(exc.value)["message"] == ('Widget in version "v1" cannot be handled as a Widget: '
                                                 'strict decoding error: unknown field "spec.extra"')
    with pytest.raises(client.ApiException) as exc:
        widgets.get_namespaced_custom_object("example.com", "v1", ns, "widgets", "w2")
    assert exc.value.status == 404


def test_schema_violations_are_refused_with_422(widgets, ns: str) -> None:
    bad = widget("w3", size=0, mode="Medium", parts=[], labels={"a": 1})
    with pytest.raises(client.ApiException) as exc:
        widgets.create_namespaced_custom_object("example.com", "v1", ns, "widgets", bad)
    assert exc.value.status == 422
    body = status_body(exc.value)
    assert body["reason"] == "Invalid"
    causes = {(c["field"], c["message"]) for c in body["details"]["causes"]}
    assert ("spec.size", "Invalid value: 0: spec.size in body should be greater than or equal to 1") in causes
    assert ("spec.mode", 'Unsupported value: "Medium": supported values: "Fast", "Slow"') in causes
    assert ("spec.parts", "Invalid value: 0: spec.parts in body should have at least 1 items") in causes
    assert ("spec.labels.a", 'Invalid value: "integer": spec.labels.a in body must be of type string: "integer"') \
        in causes
    with pytest.raises(client.ApiException) as exc:
        widgets.create_namespaced_custom_object("example.com", "v1", ns, "widgets",
                                                widget("w4", parts=[{"name": "toolong"}]))
    causes = {(c["field"], c["message"]) for c in status_body(exc.value)["details"]["causes"]}
    assert causes == {("spec.size", "Required value"),
                      ("spec.parts[0].name", "Too long: may not be longer than 5")}


def test_status_writes_are_validated_too(widgets, ns: str) -> None:
    widgets.create_namespaced_custom_object("example.com", "v1", ns, "widgets", widget("w5", size=1))
    with pytest.raises(client.ApiException) as exc:
        widgets.patch_namespaced_custom_object_status("example.com", "v1", ns, "widgets", "w5",
                                                      {"status": {"ready": "yes"}})
    assert exc.value.status == 422
    widgets.patch_namespaced_custom_object_status("example.com", "v1", ns, "widgets", "w5", {"status": {"ready": True}})
    assert widgets.get_namespaced_custom_object("example.com", "v1", ns, "widgets", "w5")["status"] == {"ready": True}

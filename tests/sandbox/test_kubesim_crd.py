"""CustomResourceDefinitions become served resources (Karmada's kinds are registered this way)."""

from __future__ import annotations

import pytest
from kubernetes import client, dynamic

from sandbox.kubesim.testing import status_body, wait_for

KARMADA_POLICY = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "propagationpolicies.policy.karmada.io"},
    "spec": {"group": "policy.karmada.io", "scope": "Namespaced",
             "names": {"plural": "propagationpolicies", "singular": "propagationpolicy", "kind": "PropagationPolicy",
                       "listKind": "PropagationPolicyList", "shortNames": ["pp"]},
             "versions": [{"name": "v1alpha1", "served": True, "storage": True,
                           "schema": {"openAPIV3Schema": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}},
                           "subresources": {"status": {}},
                           "additionalPrinterColumns": [{"name": "Conflict-Resolution", "type": "string",
                                                         "jsonPath": ".spec.conflictResolution"}]}]},
}
KARMADA_CLUSTER = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "clusters.cluster.karmada.io"},
    "spec": {"group": "cluster.karmada.io", "scope": "Cluster",
             "names": {"plural": "clusters", "singular": "cluster", "kind": "Cluster"},
             "versions": [{"name": "v1alpha1", "served": True, "storage": True, "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}}}]},
}


def policy(name: str) -> dict:
    return {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy", "metadata": {"name": name},
            "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
                     "placement": {"clusterAffinity": {"clusterNames": ["member1", "member2"]}}}}


@pytest.fixture(scope="module")
def karmada(api: client.ApiClient) -> client.CustomObjectsApi:
    ext = client.ApiextensionsV1Api(api)
    crd = ext.create_custom_resource_definition(KARMADA_POLICY)
    assert crd.metadata.name == "propagationpolicies.policy.karmada.io"
    ext.create_custom_resource_definition(KARMADA_CLUSTER)
    established = ext.read_custom_resource_definition("propagationpolicies.policy.karmada.io")
    assert {c.type: c.status for c in established.status.conditions}["Established"] == "True"
    assert established.status.accepted_names.kind == "PropagationPolicy"
    return client.CustomObjectsApi(api)


def test_crd_appears_in_discovery(karmada, api: client.ApiClient, tmp_path) -> None:
    dyn = dynamic.DynamicClient(api, cache_file=str(tmp_path / "cache.json"))
    pp = dyn.resources.get(api_version="policy.karmada.io/v1alpha1", kind="PropagationPolicy")
    assert pp.namespaced and pp.name == "propagationpolicies" and "pp" in pp.short_names
    assert "status" in pp.subresources
    clusters = dyn.resources.get(api_version="cluster.karmada.io/v1alpha1", kind="Cluster")
    assert not clusters.namespaced


def test_custom_resource_crud(karmada: client.CustomObjectsApi, ns: str) -> None:
    args = ("policy.karmada.io", "v1alpha1", ns, "propagationpolicies")
    made = karmada.create_namespaced_custom_object(*args, policy("web-pp"))
    assert made["metadata"]["generation"] == 1 and made["metadata"]["uid"]
    got = karmada.get_namespaced_custom_object(*args, "web-pp")
    assert got["spec"]["placement"]["clusterAffinity"]["clusterNames"] == ["member1", "member2"]
    patched = karmada.patch_namespaced_custom_object(*args, "web-pp", {"spec": {"conflictResolution": "Overwrite"}})
    assert patched["metadata"]["generation"] == 2
    status = karmada.patch_namespaced_custom_object_status(*args, "web-pp", {"status": {"observed": True}})
    assert status["status"] == {"observed": True} and status["metadata"]["generation"] == 2
    listed = karmada.list_namespaced_custom_object(*args)
    assert [i["metadata"]["name"] for i in listed["items"]] == ["web-pp"]
    karmada.delete_namespaced_custom_object(*args, "web-pp")
    with pytest.raises(client.ApiException) as e:
        karmada.get_namespaced_custom_object(*args, "web-pp")
    assert status_body(e.value)["message"] == 'propagationpolicies.policy.karmada.io "web-pp" not found'


def test_cluster_scoped_custom_resource(karmada: client.CustomObjectsApi) -> None:
    body = {"apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster", "metadata": {"name": "member1"},
            "spec": {"syncMode": "Push", "apiEndpoint": "https://member1:6443"}}
    karmada.create_cluster_custom_object("cluster.karmada.io", "v1alpha1", "clusters", body)
    got = karmada.get_cluster_custom_object("cluster.karmada.io", "v1alpha1", "clusters", "member1")
    assert got["spec"]["syncMode"] == "Push" and "namespace" not in got["metadata"]


def test_custom_resources_reject_strategic_merge_and_unconditional_put(karmada, api: client.ApiClient,
                                                                      ns: str) -> None:
    args = ("policy.karmada.io", "v1alpha1", ns, "propagationpolicies")
    karmada.create_namespaced_custom_object(*args, policy("smp"))
    pp = dynamic.DynamicClient(api).resources.get(api_version="policy.karmada.io/v1alpha1",
                                                   kind="PropagationPolicy")
    with pytest.raises(dynamic.exceptions.DynamicApiError) as e:
        pp.patch(name="smp", namespace=ns, body={"spec": {"x": 1}})  # DynamicClient defaults to strategic merge
    assert e.value.status == 415
    with pytest.raises(client.ApiException) as e:
        karmada.replace_namespaced_custom_object(*args, "smp", policy("smp"))
    assert e.value.status == 422 and "must be specified for an update" in status_body(e.value)["message"]


def test_deleting_the_crd_stops_serving_the_kind(api: client.ApiClient) -> None:
    ext = client.ApiextensionsV1Api(api)
    crd = {**KARMADA_CLUSTER, "metadata": {"name": "widgets.example.com"},
           "spec": {**KARMADA_CLUSTER["spec"], "group": "example.com",
                    "names": {"plural": "widgets", "kind": "Widget"}}}
    ext.create_custom_resource_definition(crd)
    custom = client.CustomObjectsApi(api)
    custom.create_cluster_custom_object("example.com", "v1alpha1", "widgets",
                                        {"apiVersion": "example.com/v1alpha1", "kind": "Widget",
                                         "metadata": {"name": "w1"}})
    ext.delete_custom_resource_definition("widgets.example.com")
    with pytest.raises(client.ApiException) as e:
        custom.list_cluster_custom_object("example.com", "v1alpha1", "widgets")
    assert e.value.status == 404
    ext.create_custom_resource_definition(crd)  # a recreated CRD starts empty
    wait_for(lambda: custom.list_cluster_custom_object("example.com", "v1alpha1", "widgets")["items"] == [])


def test_crd_name_must_match_group_and_plural(api: client.ApiClient) -> None:
    bad = {**KARMADA_CLUSTER, "metadata": {"name": "wrong.example.com"}}
    with pytest.raises(client.ApiException) as e:
        client.ApiextensionsV1Api(api).create_custom_resource_definition(bad)
    assert e.value.status == 422
    assert 'must be spec.names.plural+"."+spec.group' in status_body(e.value)["message"]

"""The sandbox Karmada's API: Karmada's CRDs with their schemas and webhooks, the Cluster API and its proxy.

Every object written here is checked against ``crd_schemas/*.strict.schema.json`` after the
server stored it, so what the sandbox serves is what a real Karmada would accept.
"""

from __future__ import annotations

import base64
from typing import Iterator

import jsonschema
import pytest
from kubernetes import client, dynamic
from kubernetes.dynamic.exceptions import DynamicApiError

from cceone_karmada import schemas
from sandbox.karmadasim import KarmadaServer
from sandbox.kubesim import EmulatorServer, User
from sandbox.kubesim.testing import status_body

POLICY = ("policy.karmada.io", "v1alpha1")


@pytest.fixture(scope="module")
def karmada() -> Iterator[KarmadaServer]:
    tokens = {"admin-token": User("admin", ("system:masters",)), "plain-token": User("plain")}
    with KarmadaServer(controllers=False, tokens=tokens) as server:
        yield server


@pytest.fixture(scope="module")
def api(karmada: KarmadaServer) -> Iterator[client.ApiClient]:
    api = karmada.api_client()
    yield api
    api.close()


@pytest.fixture(scope="module")
def custom(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


def strict_errors(obj: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(schemas.load(obj["kind"], strict=True))
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(obj)]


def pp(name: str, **spec) -> dict:
    spec.setdefault("resourceSelectors", [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}])
    return {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy", "metadata": {"name": name},
            "spec": spec}


def test_karmada_groups_are_discoverable(api: client.ApiClient, tmp_path) -> None:
    dyn = dynamic.DynamicClient(api, cache_file=str(tmp_path / "discovery.json"))
    for api_version, kind, namespaced in (
            ("policy.karmada.io/v1alpha1", "PropagationPolicy", True),
            ("policy.karmada.io/v1alpha1", "ClusterPropagationPolicy", False),
            ("policy.karmada.io/v1alpha1", "OverridePolicy", True),
            ("policy.karmada.io/v1alpha1", "ClusterOverridePolicy", False),
            ("policy.karmada.io/v1alpha1", "ClusterTaintPolicy", False),
            ("work.karmada.io/v1alpha2", "ResourceBinding", True),
            ("work.karmada.io/v1alpha1", "ResourceBinding", True),
            ("work.karmada.io/v1alpha2", "ClusterResourceBinding", False),
            ("work.karmada.io/v1alpha1", "Work", True),
            ("cluster.karmada.io/v1alpha1", "Cluster", False)):
        resource = dyn.resources.get(api_version=api_version, kind=kind)
        assert resource.namespaced is namespaced, kind
    cluster = dyn.resources.get(api_version="cluster.karmada.io/v1alpha1", kind="Cluster")
    assert set(cluster.subresources) == {"status", "proxy"}
    # The version probe of karmada SPEC §10 reads the CRDs' controller-gen annotation.
    crd = client.ApiextensionsV1Api(api).read_custom_resource_definition("propagationpolicies.policy.karmada.io")
    assert crd.metadata.annotations["controller-gen.kubebuilder.io/version"] == "v0.21.0"
    assert "karmada-io" in crd.spec.names.categories


def test_a_policy_gets_karmadas_defaults_and_validates_strictly(custom: client.CustomObjectsApi) -> None:
    stored = custom.create_namespaced_custom_object(*POLICY, "default", "propagationpolicies", pp(
        "split", placement={"replicaScheduling": {}, "spreadConstraints": [{"maxGroups": 2}]}))
    assert strict_errors(stored) == []
    spec = stored["spec"]
    # CRD defaults, then the mutating webhook's.
    assert spec["conflictResolution"] == "Abort" and spec["priority"] == 0 and spec["preemption"] == "Never"
    assert spec["schedulerName"] == "default-scheduler"
    assert spec["placement"]["replicaScheduling"] == {"replicaSchedulingType": "Divided",
                                                      "replicaDivisionPreference": "Weighted"}
    assert spec["placement"]["spreadConstraints"] == [{"maxGroups": 2, "spreadByField": "cluster", "minGroups": 1}]
    assert spec["resourceSelectors"][0]["namespace"] == "default"
    assert stored["metadata"]["labels"]["propagationpolicy.karmada.io/permanent-id"]
    assert stored["metadata"]["finalizers"] == ["karmada.io/propagation-policy-controller"]
    override = custom.create_namespaced_custom_object(*POLICY, "default", "overridepolicies", {
        "apiVersion": "policy.karmada.io/v1alpha1", "kind": "OverridePolicy", "metadata": {"name": "mirror"},
        "spec": {"overrideRules": [{"targetCluster": {"clusterNames": ["member1"]}, "overriders": {
            "imageOverrider": [{"component": "Registry", "operator": "replace", "value": "mirror.example"}]}}]}})
    assert strict_errors(override) == []


def test_invalid_policies_are_refused_with_422(custom: client.CustomObjectsApi) -> None:
    bad = pp("bad", resourceSelectors=[], placement={
        "replicaScheduling": {"replicaSchedulingType": "Split", "weightPreference": {
            "staticWeightList": [{"targetCluster": {"clusterNames": ["m1"]}, "weight": 0}]}}})
    with pytest.raises(client.ApiException) as exc:
        custom.create_namespaced_custom_object(*POLICY, "default", "propagationpolicies", bad)
    assert exc.value.status == 422
    causes = {c["field"]: c["message"] for c in status_body(exc.value)["details"]["causes"]}
    assert causes["spec.resourceSelectors"] == \
        "Invalid value: 0: spec.resourceSelectors in body should have at least 1 items"
    assert causes["spec.placement.replicaScheduling.replicaSchedulingType"] == \
        'Unsupported value: "Split": supported values: "Duplicated", "Divided"'
    assert causes["spec.placement.replicaScheduling.weightPreference.staticWeightList[0].weight"] == \
        ("Invalid value: 0: spec.placement.replicaScheduling.weightPreference.staticWeightList[0].weight in body "
         "should be greater than or equal to 1")
    assert strict_errors({**bad, "metadata": {"name": "bad"}})  # the strict schema agrees it is invalid
    with pytest.raises(client.ApiException):
        custom.get_namespaced_custom_object(*POLICY, "default", "propagationpolicies", "bad")


def test_unknown_fields_are_refused_under_strict_validation(api: client.ApiClient, tmp_path) -> None:
    dyn = dynamic.DynamicClient(api, cache_file=str(tmp_path / "discovery.json"))
    body = pp("typo", placment={"clusterAffinity": {}})
    with pytest.raises(DynamicApiError) as exc:
        dyn.request("POST", "/apis/policy.karmada.io/v1alpha1/namespaces/default/propagationpolicies", body=body,
                    query_params=[("fieldValidation", "Strict")], serialize=False)
    assert exc.value.status == 400
    assert 'strict decoding error: unknown field "spec.placment"' in status_body(exc.value)["message"]


def test_the_webhooks_deny_what_karmada_denies(custom: client.CustomObjectsApi) -> None:
    elsewhere = pp("elsewhere", resourceSelectors=[{"apiVersion": "apps/v1", "kind": "Deployment",
                                                    "namespace": "other"}])
    with pytest.raises(client.ApiException) as exc:
        custom.create_namespaced_custom_object(*POLICY, "default", "propagationpolicies", elsewhere)
    assert exc.value.status == 403
    assert status_body(exc.value)["message"].startswith(
        'admission webhook "propagationpolicy.karmada.io" denied the request: spec.resourceSelectors[0].namespace')
    stored = custom.create_namespaced_custom_object(*POLICY, "default", "propagationpolicies", pp("fixed-id"))
    stored["metadata"]["labels"]["propagationpolicy.karmada.io/permanent-id"] = "forged"
    with pytest.raises(client.ApiException) as exc:
        custom.replace_namespaced_custom_object(*POLICY, "default", "propagationpolicies", "fixed-id", stored)
    assert exc.value.status == 403 and "can not be changed" in status_body(exc.value)["message"]


def test_cluster_validation_and_zone_migration(custom: client.CustomObjectsApi) -> None:
    body = {"apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster", "metadata": {"name": "m" * 49},
            "spec": {"apiEndpoint": "https://user:pw@member.example:6443"}}
    with pytest.raises(client.ApiException) as exc:
        custom.create_cluster_custom_object("cluster.karmada.io", "v1alpha1", "clusters", body)
    assert exc.value.status == 422
    fields = {c["field"] for c in status_body(exc.value)["details"]["causes"]}
    assert fields == {"metadata.name", "spec.syncMode", "spec.apiEndpoint"}
    stored = custom.create_cluster_custom_object("cluster.karmada.io", "v1alpha1", "clusters", {
        "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster", "metadata": {"name": "zoned"},
        "spec": {"syncMode": "Push", "apiEndpoint": "https://member.example:6443", "zone": "az-1",
                 "id": "abc"}, "status": {"kubernetesVersion": "ignored"}})
    assert stored["spec"]["zones"] == ["az-1"] and "zone" not in stored["spec"]
    assert not stored.get("status")  # status is written only through clusters/status


def test_the_proxy_reaches_the_member_as_the_caller(karmada: KarmadaServer, api: client.ApiClient) -> None:
    with EmulatorServer(tokens={"member-admin": User("karmada-impersonator", ("system:masters",))}) as member:
        member.emulator.put_object({"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": "hello", "namespace": "default"}, "data": {"a": "b"}})
        core = client.CoreV1Api(api)
        for name in ("proxied", "proxied-impersonator"):
            core.create_namespaced_secret("karmada-cluster", {
                "metadata": {"name": name}, "data": {"token": base64.b64encode(b"member-admin").decode()}})
        client.CustomObjectsApi(api).create_cluster_custom_object("cluster.karmada.io", "v1alpha1", "clusters", {
            "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster", "metadata": {"name": "proxied"},
            "spec": {"syncMode": "Push", "apiEndpoint": member.url,
                     "secretRef": {"namespace": "karmada-cluster", "name": "proxied"},
                     "impersonatorSecretRef": {"namespace": "karmada-cluster", "name": "proxied-impersonator"}}})
        # A kubernetes client pointed at the proxy prefix works as against the member itself.
        config = client.Configuration(
            host=f"{karmada.url}/apis/cluster.karmada.io/v1alpha1/clusters/proxied/proxy")
        config.api_key = {"authorization": "Bearer admin-token"}
        with client.ApiClient(config) as proxied:
            assert client.CoreV1Api(proxied).read_namespaced_config_map("hello", "default").data == {"a": "b"}
            review = client.AuthenticationV1Api(proxied).create_self_subject_review(
                {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
        assert review.status.user_info.username == "admin"  # the member saw Karmada's caller, impersonated
        # Karmada's own RBAC guards clusters/proxy.
        config.api_key = {"authorization": "Bearer plain-token"}
        with client.ApiClient(config) as plain:
            with pytest.raises(client.ApiException) as exc:
                client.CoreV1Api(plain).read_namespaced_config_map("hello", "default")
        assert exc.value.status == 403
        assert 'clusters.cluster.karmada.io "proxied" is forbidden' in status_body(exc.value)["message"]
    # A member that does not answer is a 503, not a hang.
    with client.ApiClient(client.Configuration(
            host=f"{karmada.url}/apis/cluster.karmada.io/v1alpha1/clusters/proxied/proxy")) as gone:
        gone.configuration.api_key = {"authorization": "Bearer admin-token"}
        with pytest.raises(client.ApiException) as exc:
            client.CoreV1Api(gone).list_namespaced_pod("default")
    assert exc.value.status == 503

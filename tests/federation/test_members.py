"""Members joined through the hub (R5.2, issue #14 item 4): join writes what `karmadactl join`
writes, with the hub's proxy URL and platform tokens in place of the member's own endpoint and
tokens; the sandbox Karmada then reaches the members only through the hub and their agents."""
import base64

import pytest
import requests
from django.urls import reverse
from kubernetes import client

from clusters.models import PlatformToken, RegisteredCluster
from federation import members
from federation.models import Federation, FederationMember
from sandbox.kubesim.testing import deployment_manifest
from tests.conftest import client_for
from tests.live import wait_until

from .conftest import karmada_api

CLUSTERS = members.CLUSTERS
BINDINGS = ("work.karmada.io", "v1alpha2")


def registered(hub_karmada) -> dict[str, dict]:
    with karmada_api(hub_karmada) as api:
        return {c["metadata"]["name"]: c for c in
                client.CustomObjectsApi(api).list_cluster_custom_object(*CLUSTERS)["items"]}


def decoded(secret) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}


def hub_get(live_hub, cluster, token, path, **headers):
    return requests.get(f"https://127.0.0.1:{live_hub.public_port}/k8s/clusters/{cluster.pk}{path}",
                        headers={"Authorization": f"Bearer {token}", **headers}, verify=live_hub.ca_file, timeout=10)


def test_join_writes_what_karmadactl_join_writes_with_the_hub_in_between(federation_setup, member_servers,
                                                                          hub_karmada, live_hub):
    federation, clusters, _agents = federation_setup
    assert members.sync(federation.pk)["joined"] == 2

    for cluster, server in zip(clusters, member_servers):
        name = cluster.name
        with server.api_client() as api:
            core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
            # In the member: karmada SPEC §4.2 step 4, every object labelled karmada.io/system.
            assert core.read_namespace("karmada-cluster").metadata.labels["karmada.io/system"] == "true"
            for account in ("karmada-impersonator", f"karmada-{name}"):
                assert core.read_namespaced_service_account(account, "karmada-cluster").metadata.labels == \
                    {"karmada.io/system": "true"}
                secret = core.read_namespaced_secret(account, "karmada-cluster")
                assert secret.type == "kubernetes.io/service-account-token"
                assert secret.metadata.annotations["kubernetes.io/service-account.name"] == account
            role = rbac.read_cluster_role(f"karmada-controller-manager:karmada-{name}")
            assert api.sanitize_for_serialization(role.rules) == [
                {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                {"nonResourceURLs": ["*"], "verbs": ["get"]}]
            binding = rbac.read_cluster_role_binding(f"karmada-controller-manager:karmada-{name}")
            assert binding.role_ref.name == role.metadata.name
            assert [(s.kind, s.name, s.namespace) for s in binding.subjects] == [
                ("ServiceAccount", f"karmada-{name}", "karmada-cluster")]
            uid = core.read_namespace("kube-system").metadata.uid

        # In Karmada: steps 5-7, with the hub's URL and platform tokens.
        cluster_object = registered(hub_karmada)[name]
        spec = cluster_object["spec"]
        assert spec["syncMode"] == "Push" and spec["id"] == uid
        assert spec["apiEndpoint"] == f"https://127.0.0.1:{live_hub.public_port}/k8s/clusters/{cluster.pk}"
        assert spec["secretRef"] == {"namespace": "karmada-cluster", "name": name}
        assert spec["impersonatorSecretRef"] == {"namespace": "karmada-cluster", "name": f"{name}-impersonator"}
        with karmada_api(hub_karmada) as api:
            core = client.CoreV1Api(api)
            secret = core.read_namespaced_secret(name, "karmada-cluster")
            impersonator = core.read_namespaced_secret(f"{name}-impersonator", "karmada-cluster")
        for s in (secret, impersonator):
            assert s.metadata.labels["karmada.io/system"] == "true"
            (owner,) = s.metadata.owner_references
            assert (owner.kind, owner.name, owner.uid, owner.controller) == (
                "Cluster", name, cluster_object["metadata"]["uid"], True)
        values = decoded(secret)
        assert values["caBundle"] == open(live_hub.ca_file).read()
        # The tokens are the platform's, stored hashed, and act in the member as join's accounts.
        assert PlatformToken.objects.filter(cluster=cluster, holder=f"federation:{federation.pk}",
                                            revoked_at__isnull=True).count() == 2
        pods = hub_get(live_hub, cluster, values["token"], "/api/v1/namespaces/kube-system/pods")
        assert pods.status_code == 200, pods.text
        # The member token may not choose whom it acts as; the impersonator token relays.
        refused = hub_get(live_hub, cluster, values["token"], "/api/v1/pods", **{"Impersonate-User": "alice"})
        assert refused.status_code == 403
        relayed = hub_get(live_hub, cluster, decoded(impersonator)["token"], "/api/v1/namespaces/default/pods",
                          **{"Impersonate-User": "alice"})
        assert relayed.status_code == 403 and 'User \\"alice\\"' in relayed.text  # alice's RBAC decides
        # A platform token is for its own cluster only.
        other = clusters[1] if cluster == clusters[0] else clusters[0]
        assert hub_get(live_hub, other, values["token"], "/api/v1/pods").status_code == 401

    # Karmada reaches both members through the hub: their Clusters go Ready, the members show connected.
    wait_until(lambda: (members.refresh(federation) or True) and set(
        FederationMember.objects.filter(federation=federation).values_list("status", flat=True)) == {"connected"},
        timeout=30, what="both members connected")


def test_a_name_or_id_registered_by_someone_else_is_refused(federation_setup, member_servers, hub_karmada, tenant):
    federation, clusters, _agents = federation_setup
    with member_servers[1].api_client() as api:
        uid = client.CoreV1Api(api).read_namespace("kube-system").metadata.uid
    with karmada_api(hub_karmada) as api:
        custom = client.CustomObjectsApi(api)
        for name, cluster_id in (("edge-01", "some-other-id"), ("elsewhere", uid)):
            custom.create_cluster_custom_object(*CLUSTERS, {
                "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster", "metadata": {"name": name},
                "spec": {"syncMode": "Push", "apiEndpoint": "https://10.0.0.1:6443", "id": cluster_id}})
    members.sync(federation.pk)
    rows = {m.name: m for m in FederationMember.objects.filter(federation=federation)}
    assert rows["edge-01"].status == rows["edge-02"].status == "failed"
    assert "edge-01 has been registered" in rows["edge-01"].display_reason
    assert uid in rows["edge-02"].display_reason
    # The reason is kept as a msgid with its values: each reader sees it in their language.
    detail = reverse("federation:detail", args=[federation.pk])
    page = client_for(tenant.main, "zh-hans").get(detail).content.decode()
    first_uid = rows["edge-01"].cluster_uid
    assert f"集群 ID {first_uid} 或集群名称 edge-01 已在联邦中注册。" in page
    assert "has been registered" not in page
    assert f"The cluster ID {first_uid} or the cluster name edge-01 has been registered in the federation." in \
        client_for(tenant.main).get(detail).content.decode()
    listed = client_for(tenant.main, "zh-hans").get(f"/api/v1/federations/{federation.pk}/members/").json()
    assert {m["name"]: m["reason"] for m in listed}["edge-02"] == f"集群 ID {uid} 或集群名称 edge-02 已在联邦中注册。"
    # Nothing of ours was written over the other registrations, and no token is live.
    assert registered(hub_karmada)["edge-01"]["spec"]["apiEndpoint"] == "https://10.0.0.1:6443"
    assert not PlatformToken.objects.filter(revoked_at__isnull=True).exists()


def test_leaving_removes_everything_join_wrote_and_revokes_the_tokens(federation_setup, member_servers,
                                                                       hub_karmada, live_hub):
    federation, clusters, _agents = federation_setup
    members.sync(federation.pk)
    with karmada_api(hub_karmada) as api:
        token = decoded(client.CoreV1Api(api).read_namespaced_secret("edge-01", "karmada-cluster"))["token"]
        # Something Karmada placed in both members.
        client.AppsV1Api(api).create_namespaced_deployment("default", deployment_manifest("placed", replicas=1))
        client.CustomObjectsApi(api).create_namespaced_custom_object(
            "policy.karmada.io", "v1alpha1", "default", "propagationpolicies", {
                "apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy", "metadata": {"name": "placed"},
                "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "placed"}],
                         "placement": {"clusterAffinity": {"clusterNames": ["edge-01", "edge-02"]}}}})
    wait_until(lambda: _replicas(member_servers[0], "default", "placed") == 1, timeout=30, what="the placement")
    # edge-01 leaves the fleet: it leaves the federation, once Karmada has taken its workload out.
    RegisteredCluster.objects.filter(pk=clusters[0].pk).update(fleet=None)
    wait_until(lambda: members.sync(federation.pk) and not FederationMember.objects.filter(name="edge-01").exists(),
               timeout=60, what="edge-01 to leave")
    assert _replicas(member_servers[0], "default", "placed") is None
    assert _replicas(member_servers[1], "default", "placed") == 1

    assert set(registered(hub_karmada)) == {"edge-02"}
    with karmada_api(hub_karmada) as api:
        left = {s.metadata.name for s in client.CoreV1Api(api).list_namespaced_secret("karmada-cluster").items}
    assert "edge-01" not in left and "edge-01-impersonator" not in left
    with member_servers[0].api_client() as api:
        core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
        for call, args in ((core.read_namespace, ("karmada-cluster",)),
                           (rbac.read_cluster_role, ("karmada-controller-manager:karmada-edge-01",)),
                           (rbac.read_cluster_role_binding, ("karmada-controller-manager:karmada-edge-01",))):
            with pytest.raises(client.ApiException) as gone:
                call(*args)
            assert gone.value.status == 404
    assert hub_get(live_hub, clusters[0], token, "/api/v1/pods").status_code == 401
    assert list(FederationMember.objects.filter(federation=federation).values_list("name", flat=True)) == ["edge-02"]


def test_freezing_cuts_karmada_off_and_thawing_joins_again(federation_setup, hub_karmada, live_hub):
    from federation.transitions import change_status

    federation, clusters, _agents = federation_setup
    members.sync(federation.pk)
    with karmada_api(hub_karmada) as api:
        token = decoded(client.CoreV1Api(api).read_namespaced_secret("edge-02", "karmada-cluster"))["token"]
    assert hub_get(live_hub, clusters[1], token, "/api/v1/pods").status_code == 200
    members.sync(federation.pk)  # the sweep again: a registered member waits for Ready, keeps its tokens
    with karmada_api(hub_karmada) as api:
        assert decoded(client.CoreV1Api(api).read_namespaced_secret("edge-02", "karmada-cluster"))["token"] == token
    change_status(federation, Federation.Status.FROZEN, "arrears")
    assert hub_get(live_hub, clusters[1], token, "/api/v1/pods").status_code == 401
    change_status(federation, Federation.Status.RUNNING, "balance restored")
    members.sync(federation.pk)
    with karmada_api(hub_karmada) as api:
        fresh = decoded(client.CoreV1Api(api).read_namespaced_secret("edge-02", "karmada-cluster"))["token"]
    assert fresh != token
    assert hub_get(live_hub, clusters[1], fresh, "/api/v1/pods").status_code == 200


def _replicas(server, namespace, name):
    with server.api_client() as api:
        try:
            return client.AppsV1Api(api).read_namespaced_deployment(name, namespace).spec.replicas
        except client.ApiException as error:
            assert error.status == 404
            return None


def test_a_deployment_split_1_to_2_lands_in_the_members_through_the_hub_and_fails_over(
        federation_setup, member_servers, hub_karmada):
    federation, clusters, agents = federation_setup
    members.sync(federation.pk)
    wait_until(lambda: (members.refresh(federation) or True) and set(
        FederationMember.objects.values_list("status", flat=True)) == {"connected"}, timeout=30,
        what="members connected")
    deployment = deployment_manifest("web", replicas=3)
    placement = {"clusterAffinity": {"clusterNames": ["edge-01", "edge-02"]},
                 "clusterTolerations": [{"key": "cluster.karmada.io/not-ready", "operator": "Exists",
                                         "effect": "NoExecute", "tolerationSeconds": 1}],
                 "replicaScheduling": {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted",
                                       "weightPreference": {"staticWeightList": [
                                           {"targetCluster": {"clusterNames": ["edge-01"]}, "weight": 1},
                                           {"targetCluster": {"clusterNames": ["edge-02"]}, "weight": 2}]}}}
    with karmada_api(hub_karmada) as api:
        client.AppsV1Api(api).create_namespaced_deployment("default", deployment)
        custom = client.CustomObjectsApi(api)
        custom.create_namespaced_custom_object("policy.karmada.io", "v1alpha1", "default", "propagationpolicies", {
            "apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy", "metadata": {"name": "web"},
            "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
                     "placement": placement}})
        custom.create_namespaced_custom_object("policy.karmada.io", "v1alpha1", "default", "overridepolicies", {
            "apiVersion": "policy.karmada.io/v1alpha1", "kind": "OverridePolicy", "metadata": {"name": "web"},
            "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
                     "overrideRules": [{"targetCluster": {"clusterNames": ["edge-02"]}, "overriders": {
                         "imageOverrider": [{"component": "Registry", "operator": "replace",
                                             "value": "mirror.example.com"}]}}]}})
    wait_until(lambda: (_replicas(member_servers[0], "default", "web"),
                        _replicas(member_servers[1], "default", "web")) == (1, 2), timeout=30,
               what="the 1:2 split in the members")
    with member_servers[1].api_client() as api:
        image = client.AppsV1Api(api).read_namespaced_deployment("web", "default").spec.template.spec.containers[0].image
    with member_servers[0].api_client() as api:
        plain = client.AppsV1Api(api).read_namespaced_deployment("web", "default").spec.template.spec.containers[0].image
    assert image.startswith("mirror.example.com/") and not plain.startswith("mirror.example.com/")

    # edge-01 stops answering (its agent is gone): Karmada moves its replica to edge-02.
    agents[0].kill()
    wait_until(lambda: _replicas(member_servers[1], "default", "web") == 3, timeout=45,
               what="edge-01's replica moved to edge-02")
    members.refresh(federation)
    edge01 = FederationMember.objects.get(name="edge-01")
    assert edge01.status == "failed" and edge01.reason


# --- the federation kubeconfig through the hub (R5.4, R5.9) -------------------------------

def kubectl(config_text: str, tmp_path, *args, stdin: str | None = None):
    import subprocess

    path = tmp_path / "federation.kubeconfig"
    path.write_text(config_text)
    return subprocess.run(["kubectl", "--kubeconfig", str(path), "--request-timeout", "10s", *args],
                          capture_output=True, text=True, timeout=30, input=stdin)


APP = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop, namespace: default}
spec:
  replicas: 3
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec: {containers: [{name: shop, image: "nginx:1.25"}]}
---
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {name: shop, namespace: default}
spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, name: shop}]
  placement:
    clusterAffinity: {clusterNames: [edge-01, edge-02]}
    replicaScheduling:
      replicaSchedulingType: Divided
      replicaDivisionPreference: Weighted
      weightPreference:
        staticWeightList:
        - {targetCluster: {clusterNames: [edge-01]}, weight: 1}
        - {targetCluster: {clusterNames: [edge-02]}, weight: 2}
"""


def test_kubectl_with_the_federation_kubeconfig_propagates_into_the_members_as_the_user(
        federation_setup, member_servers, hub_karmada, tenant, tmp_path):
    from federation import kubeconfigs, rbac
    from federation.transitions import change_status

    federation, _clusters, _agents = federation_setup
    members.sync(federation.pk)
    rbac.apply(federation.pk)  # the fleet's permissions in Karmada: the main account administers
    _issued, config = kubeconfigs.issue(tenant.main, federation)
    applied = kubectl(config, tmp_path, "apply", "-f", "-", stdin=APP)
    assert applied.returncode == 0, applied.stderr
    listed = kubectl(config, tmp_path, "get", "propagationpolicies", "-n", "default", "-o", "name")
    assert listed.stdout.strip() == "propagationpolicy.policy.karmada.io/shop", listed.stderr
    wait_until(lambda: (_replicas(member_servers[0], "default", "shop"),
                        _replicas(member_servers[1], "default", "shop")) == (1, 2), timeout=30,
               what="the kubectl-applied Deployment split 1:2 in the members")

    # A sub-account gets the fleet's default (restricted: read-only): it reads, it may not create.
    _issued, restricted = kubeconfigs.issue(tenant.user, federation)
    assert kubectl(restricted, tmp_path, "get", "deployments", "-n", "default").returncode == 0
    refused = kubectl(restricted, tmp_path, "create", "deployment", "other", "--image=nginx", "-n", "default")
    assert refused.returncode != 0 and "forbidden" in refused.stderr.lower()

    # Revoked: 401 at once; frozen: refused with the reason.
    kubeconfigs.revoke_all(tenant.user, federation)
    gone = kubectl(restricted, tmp_path, "get", "deployments", "-n", "default")
    assert gone.returncode != 0 and ("Unauthorized" in gone.stderr or "must be logged in" in gone.stderr)
    change_status(federation, Federation.Status.FROZEN, "arrears")
    frozen = kubectl(config, tmp_path, "get", "deployments", "-n", "default")
    assert frozen.returncode != 0 and "frozen" in frozen.stderr


def test_a_control_plane_reached_with_a_client_certificate_serves_members_and_kubeconfigs(
        federation_setup, hub_karmada, tenant, tmp_path):
    """karmada-operator's admin kubeconfig authenticates with a client certificate, not a token:
    the console (joining members) and the hub (federation kubeconfigs) both use it."""
    from federation import kubeconfigs, rbac

    federation, _clusters, _agents = federation_setup
    plane = federation.control_plane
    cert, key = hub_karmada.server.certificates.client_certificate("system:admin", ("system:masters",))
    plane.token, plane.client_cert, plane.client_key = "", cert.decode(), key.decode()
    plane.save()
    federation.refresh_from_db()
    assert members.sync(federation.pk)["joined"] == 2
    rbac.apply(federation.pk)
    _issued, config = kubeconfigs.issue(tenant.main, federation)
    listed = kubectl(config, tmp_path, "get", "clusters", "-o", "name")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["cluster.cluster.karmada.io/edge-01", "cluster.cluster.karmada.io/edge-02"]


def test_an_unsubscribed_member_leaves_and_its_cluster_is_cleaned_while_the_agent_answers(
        federation_setup, member_servers, hub_karmada):
    federation, clusters, _agents = federation_setup
    members.sync(federation.pk)
    RegisteredCluster.objects.filter(pk=clusters[1].pk).update(status=RegisteredCluster.Status.DESTROYING)
    members.sync(federation.pk)
    assert set(registered(hub_karmada)) == {"edge-01"}
    with member_servers[1].api_client() as api:
        with pytest.raises(client.ApiException) as gone:
            client.RbacAuthorizationV1Api(api).read_cluster_role("karmada-controller-manager:karmada-edge-02")
    assert gone.value.status == 404
    assert not PlatformToken.objects.filter(cluster=clusters[1], revoked_at__isnull=True).exists()


def test_promote_takes_over_a_members_running_deployment_through_the_hub(federation_setup, member_servers,
                                                                         hub_karmada, tenant):
    """Promote (R5.7) with the member behind the hub: Karmada's cluster proxy reaches it through
    the hub and its agent; the Deployment is adopted and its pods keep their UIDs."""
    from federation import rbac
    from tests.conftest import client_for

    federation, _clusters, _agents = federation_setup
    members.sync(federation.pk)
    wait_until(lambda: (members.refresh(federation) or True) and set(
        FederationMember.objects.values_list("status", flat=True)) == {"connected"}, timeout=30,
        what="members connected")
    rbac.apply(federation.pk)
    with member_servers[0].api_client() as api:
        client.AppsV1Api(api).create_namespaced_deployment("default", deployment_manifest("legacy", replicas=2))

    def pods():
        with member_servers[0].api_client() as api:
            return {p.metadata.name: p.metadata.uid for p in client.CoreV1Api(api).list_namespaced_pod(
                "default", label_selector="app=legacy").items}

    wait_until(lambda: len(pods()) == 2, timeout=20, what="the member's pods")
    before = pods()
    answer = client_for(tenant.main).post(f"/api/v1/federations/{federation.pk}/promote/", {
        "member": "edge-01", "namespace": "default", "kinds": ["deployments"], "label_selector": "app=legacy"},
        content_type="application/json")
    assert answer.status_code == 200, answer.content
    data = answer.json()
    assert [(r["kind"], r["name"], r["outcome"]) for r in data["results"]] == [("Deployment", "legacy", "promoted")]
    assert data["applied"] is True
    assert {p["name"]: (p["uid_before"], p["uid_after"]) for p in data["pods"] if p["name"] in before} == {
        name: (uid, uid) for name, uid in before.items()}
    assert pods() == before and _replicas(member_servers[1], "default", "legacy") is None

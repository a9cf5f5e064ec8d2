"""The token controller: a service-account-token Secret gets a token that signs in as its account
(``karmadactl join`` creates such Secrets in the member and polls for ``data.token``)."""

from __future__ import annotations

import base64

import pytest
from kubernetes import client

from sandbox.kubesim.testing import wait_for


def _token_secret(name: str, account: str) -> dict:
    return {"metadata": {"name": name, "annotations": {"kubernetes.io/service-account.name": account}},
            "type": "kubernetes.io/service-account-token"}


def test_a_token_secret_signs_in_as_its_account_until_deleted(server, core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_service_account(ns, {"metadata": {"name": "karmada-member1"}})
    core.create_namespaced_secret(ns, _token_secret("karmada-member1", "karmada-member1"))
    secret = core.read_namespaced_secret("karmada-member1", ns)
    assert {"token", "ca.crt", "namespace"} <= set(secret.data)
    sa = core.read_namespaced_service_account("karmada-member1", ns)
    assert secret.metadata.annotations["kubernetes.io/service-account.uid"] == sa.metadata.uid
    token = base64.b64decode(secret.data["token"]).decode()

    api = server.api_client(token)
    review = client.AuthenticationV1Api(api).create_self_subject_review(
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    assert review.status.user_info.username == f"system:serviceaccount:{ns}:karmada-member1"
    assert f"system:serviceaccounts:{ns}" in review.status.user_info.groups

    core.delete_namespaced_secret("karmada-member1", ns)
    with pytest.raises(client.ApiException) as exc:
        client.CoreV1Api(api).list_namespaced_pod(ns)
    assert exc.value.status == 401
    api.close()


def test_a_token_waits_for_its_service_account(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_secret(ns, _token_secret("early", "later"))
    assert not core.read_namespaced_secret("early", ns).data
    core.create_namespaced_service_account(ns, {"metadata": {"name": "later"}})
    wait_for(lambda: (core.read_namespaced_secret("early", ns).data or {}).get("token"))

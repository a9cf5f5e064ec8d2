"""Inspection over the crafted corpus (corpus/inspection.yaml): the verdict of every check on
every corpus object, the upstream defects not reproduced, the report, its diff and waivers."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from operations.inspection import CHECKS
from operations.models import Inspection, Waiver
from tests.conftest import client_for

from .conftest import CORPUS

pytestmark = pytest.mark.django_db(transaction=True)

D, S, C, J, P = "Deployment/audit/", "CronJob/audit/", "ClusterRole//", "Job/audit/", "Pod/audit/"
R, N = "Role/audit/", "Node//"
# check -> {object: fails?}. Every check has a failing and a passing object.
EXPECTED = {
    "PrivilegeEscalationAllowed": {D + "risky": True, D + "hardened": False, D + "half-tagged": False},
    "NoCPULimits": {D + "risky": True, D + "hardened": False, D + "exempted": False},  # exempt by annotation
    "NoCPURequests": {D + "risky": True, D + "exempted": True, D + "hardened": False, P + "bare": False},
    "NoMemoryLimits": {D + "risky": True, D + "hardened": False},
    "NoMemoryRequests": {D + "risky": True, D + "hardened": False},
    "HighRiskCapabilities": {D + "risky": True, D + "hardened": False},
    "InsecureCapabilities": {D + "risky": True, D + "hardened": False},
    "HostIPCAccess": {D + "risky": True, D + "hardened": False},
    "HostNetworkAccess": {D + "risky": True, D + "hardened": False},
    "HostPIDAccess": {D + "risky": True, P + "bare": True, D + "hardened": False},
    "HostPortAccess": {D + "risky": True, D + "hardened": False},
    "ImagePullPolicyNotAlways": {D + "risky": True, D + "hardened": False},
    "ImageTagsIsLatest": {D + "risky": True, D + "hardened": False, D + "half-tagged": False},
    # One untagged container fails the workload; a registry port is not a tag; a digest pins.
    "ImageTagMiss": {D + "half-tagged": True, D + "pinned": False, D + "hardened": False, D + "risky": False},
    "NoLivenessProbe": {D + "risky": True, D + "hardened": False, S + "nightly": False},  # batch: not expected
    "NoReadinessProbe": {D + "risky": True, D + "hardened": False, S + "nightly": False},
    "NoPriorityClassName": {D + "risky": True, D + "hardened": False},
    "PrivilegedAllowed": {D + "risky": True, D + "hardened": False},
    "NotReadOnlyRootFilesystem": {D + "risky": True, D + "hardened": False},
    # Pod-template runAsNonRoot counts; a container's false overrides the pod's true; runAsUser ≥ 1 counts.
    "NotRunAsNonRoot": {D + "risky": True, S + "nightly": True, D + "hardened": False, P + "bare": False},
    # The same rule must hold the resource and the verb; built-in and system: roles are skipped.
    "CanDeleteResources": {R + "secret-writer": True, R + "split-rules": False, C + "builtin-edit": False,
                           C + "system:controller:everything": False},
    "CanModifyWorkloads": {R + "split-rules": True, R + "secret-writer": False},
    "CanImpersonateUser": {C + "impersonator": True, R + "secret-writer": False},
    # Healthy nodes are not reported (kubeeye #240); Ready=Unknown is.
    "NodeStatus": {N + "sick-1": True, N + "docker-1": True, N + "npd-1": True, N + "worker-1": False},
    "KubeletStatus": {N + "sick-1": True, N + "npd-1": False, N + "worker-1": False},
    "DockerStatus": {N + "docker-1": True, N + "sick-1": False},
    # Warning events inside 24 h, grouped per object and reason.
    "EventAudit": {"Pod/audit/bare": True, "Pod/audit/long-gone": False},
}


def failing(inspection) -> set[tuple[str, str]]:
    return {(f["check"], f"{f['kind']}/{f['namespace']}/{f['name']}") for f in inspection.findings}


@pytest.fixture
def audited(cluster, emulator):
    emulator.emulator.load_seed(CORPUS / "inspection.yaml")
    return cluster


def run_now(client, cluster) -> Inspection:
    response = client.post(reverse("operations:inspection-run", args=[cluster.pk]))
    assert response.status_code == 302, response.content.decode()[:1000]
    inspection = Inspection.objects.order_by("-id").first()
    assert inspection.status == "succeeded", inspection.display_message()
    return inspection


def test_every_check_gives_the_expected_verdict_on_the_corpus(audited, tenant):
    assert set(EXPECTED) | {"CertificateExpiredPeriod"} == set(CHECKS), "every check has corpus verdicts"
    for check, verdicts in EXPECTED.items():
        assert True in verdicts.values() and False in verdicts.values(), check
    inspection = run_now(client_for(tenant.main), audited)
    found = failing(inspection)
    wrong = [(check, obj, fails) for check, verdicts in EXPECTED.items() for obj, fails in verdicts.items()
             if ((check, obj) in found) != fails]
    assert not wrong, wrong
    # No duplicates: the CronJob's Job, pods of ReplicaSets and kube-system are left out.
    assert not [f for f in inspection.findings if f["name"] == "nightly-29123" or f["namespace"] == "kube-system"
                and f["kind"] != "Event"]
    # The seed's pods all have controllers (Deployments, DaemonSets, StatefulSets, Jobs): only bare pods are audited.
    assert {f["namespace"] for f in inspection.findings if f["kind"] == "Pod" and f["check"] != "EventAudit"} \
        == {"audit", "shop"}
    backoff = next(f for f in inspection.findings if f["check"] == "EventAudit" and f["name"] == "bare")
    assert backoff["params"]["count"] == 5 and backoff["reason"] == "BackOff"
    assert [n["check"] for n in inspection.notes] == ["CertificateExpiredPeriod"]  # behind the agent: not verified
    # Paged lists: a handful of calls whatever the object count.
    assert inspection.api_calls <= 16 and inspection.objects_inspected > 40


def test_report_score_diff_and_waivers(audited, tenant, emulator):
    client = client_for(tenant.main)
    first = run_now(client, audited)
    assert 0 < first.score < 100 and first.counts["critical"] > 0 and first.diff == {}

    page = client.get(reverse("operations:inspection", args=[first.pk])).content.decode()
    assert f'id="inspection-score">{first.score}<' in page
    # A finding links to the object's console page.
    assert reverse("resources:detail", kwargs={"target_type": "cluster", "target_id": audited.pk,
                                               "kind": "deployments", "namespace": "audit", "name": "risky"}) in page

    # Waive the privileged container of "risky" until tomorrow; fix "half-tagged"; add a new problem.
    response = client.post(reverse("operations:waiver-new", args=[audited.pk]), {
        "check_id": "PrivilegedAllowed", "namespace": "audit", "kind": "Deployment", "name": "risky",
        "reason": "Needs raw devices until the driver ships", "expires_at": (timezone.localtime() + timedelta(days=1))
        .strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302
    fixed = emulator.emulator.get_object("apps/v1", "Deployment", "half-tagged", "audit")
    fixed["spec"]["template"]["spec"]["containers"][1]["image"] = "registry.local:5000/acme/sidecar:2.0"
    emulator.emulator.put_object(fixed)
    emulator.emulator.put_object({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                                  "metadata": {"name": "new-impersonator"},
                                  "rules": [{"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]}]})

    second = run_now(client, audited)
    privileged = next(f for f in second.findings if f["check"] == "PrivilegedAllowed" and f["name"] == "risky")
    assert privileged["waived"], "listed, marked waived"
    assert second.counts["waived"] == 1
    assert "ImageTagMiss|Deployment|audit|half-tagged|" in second.diff["fixed"]
    assert "CanImpersonateUser|ClusterRole||new-impersonator|" in second.diff["new"]
    assert second.counts["critical"] < first.counts["critical"] and second.score >= first.score
    page = client.get(reverse("operations:inspection", args=[second.pk])).content.decode()
    assert "1 new, 1 fixed" in page and "waived" in page

    # The waiver lapses by itself: after its expiry the finding counts again.
    Waiver.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    third = run_now(client, audited)
    assert third.counts["waived"] == 0
    assert not next(f for f in third.findings if f["check"] == "PrivilegedAllowed" and f["name"] == "risky")["waived"]
    assert third.counts["critical"] == second.counts["critical"] + 1 and third.score <= second.score

    # A new critical finding notifies the tenant through the notice outbox: an email and an SMS.
    from billing.models import Notice

    assert not Notice.objects.filter(kind="inspection").exists()  # nothing new and critical so far
    root = emulator.emulator.get_object("apps/v1", "Deployment", "hardened", "audit")
    root["metadata"] = {"name": "root-shell", "namespace": "audit"}
    root["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] = True
    emulator.emulator.put_object(root)
    fourth = run_now(client, audited)
    assert "PrivilegedAllowed|Deployment|audit|root-shell|" in fourth.diff["new"]
    sent = {n.channel: n for n in Notice.objects.filter(kind="inspection")}
    assert set(sent) == {"email", "sms"}
    new_critical = [f for f in fourth.findings if f["name"] == "root-shell" and f["severity"] == "critical"]
    assert sent["email"].subject == f"【CCE One】集群 {audited.name} 巡检发现 {len(new_critical)} 个新的严重问题"
    assert "PrivilegedAllowed" in sent["email"].body and "PrivilegedAllowed" in sent["sms"].body

    # Bad input changes nothing: an expiry in the past; a check that does not exist.
    response = client.post(reverse("operations:waiver-new", args=[audited.pk]), {
        "check_id": "NoCPULimits", "namespace": "audit", "name": "risky", "reason": "later",
        "expires_at": "2020-01-01T00:00"})
    assert response.status_code == 400 and Waiver.objects.count() == 1
    assert "The expiry must be in the future." in response.content.decode()
    response = client.post(reverse("operations:waiver-new", args=[audited.pk]), {
        "check_id": "NoSuchCheck", "namespace": "audit", "reason": "x", "expires_at": "2030-01-01T00:00"})
    assert response.status_code == 400 and Waiver.objects.count() == 1

    # The trend chart has a line for the cluster with its three scores.
    chart = client.get(reverse("operations:trends")).content.decode()
    assert f'data-cluster="{audited.name}"' in chart and chart.count("<circle") == 4


def test_the_score_leaves_out_waived_and_informational_findings():
    from operations.inspection.runner import score

    danger = {"check": "PrivilegedAllowed", "severity": "critical", "waived": None}
    assert score([], 30) == 100
    assert score([danger], 30) == 90  # weight 3 of 30
    assert score([{**danger, "waived": 7}], 30) == 100
    assert score([{"check": "NoPriorityClassName", "severity": "info", "waived": None}], 30) == 100

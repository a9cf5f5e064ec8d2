"""Diagnosis of broken objects in the emulator (DIAGNOSIS.md): each produces the documented
finding with its evidence, through the page a user starts it from."""
import re

import pytest
from django.urls import reverse

from operations.models import Diagnosis
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def diagnose(client, cluster, kind, name, namespace="shop"):
    """Start from the object page's button (its query, posted), follow to the report."""
    query = f"?cluster={cluster.pk}&kind={kind}&name={name}" + (f"&namespace={namespace}" if namespace else "")
    response = client.post(reverse("operations:diagnosis-new") + query)
    assert response.status_code == 302, response.content.decode()[:2000]
    diagnosis = Diagnosis.objects.order_by("-id").first()
    assert diagnosis.status == "succeeded", diagnosis.display_message()
    return diagnosis, client.get(response["Location"]).content.decode()


def item(diagnosis, check):
    return next(r for r in diagnosis.results if r["check"] == check)


def messages(diagnosis, check):
    return [f["message"] % f["params"] if f["params"] else f["message"] for f in item(diagnosis, check)["findings"]]


def test_broken_pods_nodes_services_and_ingresses_produce_their_documented_findings(cluster, tenant):
    client = client_for(tenant.main)

    # Image pull back-off: the waiting message verbatim, with the state as evidence.
    diagnosis, page = diagnose(client, cluster, "pods", "image-typo")
    assert item(diagnosis, "POD-WAITING-ERROR")["status"] == "abnormal"
    assert messages(diagnosis, "POD-WAITING-ERROR") == [
        'Container app is waiting (ImagePullBackOff): Back-off pulling image "ghcr.io/acme/shop:v9.9.9-typo"']
    assert "status.containerStatuses[app].state.waiting" in page and "imagePullSecrets" in page
    assert item(diagnosis, "POD-UNSCHEDULABLE")["status"] == "normal"

    # Crash loop: the last termination reason; the events are the pod's own, not a same-named Deployment's.
    diagnosis, page = diagnose(client, cluster, "pods", "crasher")
    assert messages(diagnosis, "POD-CRASHLOOP") == [
        "The last termination reason is Error (exit code 1) container=api pod=crasher"]
    assert item(diagnosis, "POD-WAITING-ERROR")["status"] == "normal"  # reported once, as a crash loop
    assert messages(diagnosis, "POD-RESTARTS")[0].startswith("Container api restarted 7 times; last reason Error")
    assert messages(diagnosis, "POD-WARNING-EVENTS") == [
        "42× BackOff: Back-off restarting failed container api in pod crasher_shop"]
    assert "same-named Deployment" not in page
    # Its logs: the current instance is waiting (nothing to read); the previous one's matching lines, quoted,
    # with a link to the log viewer at that instance.
    assert messages(diagnosis, "POD-LOG-ERRORS") == [
        "The previous instance of container api logged 2 lines matching error, exception or fail in its last 6 lines"]
    evidence = item(diagnosis, "POD-LOG-ERRORS")["findings"][0]["evidence"]
    assert evidence == [{"field": "previous container logs [api]",
                         "value": "ERROR connect ECONNREFUSED 10.96.0.12:5432\n"
                                  "Exception in main loop: database unavailable"}]
    assert "container=api&amp;tail=100&amp;previous=on" in page and "Open the log" in page

    # A running container whose log has nothing alarming.
    diagnosis, _page = diagnose(client, cluster, "pods", "web-1")
    assert item(diagnosis, "POD-LOG-ERRORS")["status"] == "normal"

    # OOMKilled.
    diagnosis, _page = diagnose(client, cluster, "pods", "memory-hog")
    assert messages(diagnosis, "POD-CRASHLOOP") == [
        "The last termination reason is OOMKilled (exit code 137) container=cache pod=memory-hog"]
    assert item(diagnosis, "POD-CRASHLOOP")["severity"] == "critical"

    # Unschedulable: the scheduler's message verbatim.
    diagnosis, _page = diagnose(client, cluster, "pods", "too-big")
    assert messages(diagnosis, "POD-UNSCHEDULABLE") == ["0/3 nodes are available: 3 Insufficient cpu."]

    # A missing ConfigMap is found; an optional Secret is not a fault.
    diagnosis, _page = diagnose(client, cluster, "pods", "no-config")
    assert messages(diagnosis, "POD-REF-MISSING") == ["Pod references ConfigMap shop/shop-settings which does not exist"]

    # A pod on a node that stopped reporting.
    diagnosis, _page = diagnose(client, cluster, "pods", "on-dead-node")
    assert messages(diagnosis, "POD-NODE-NOTREADY") == ["Pod runs on node dead-1 which is Unknown"]

    # The node itself: NotReady (Unknown), disk pressure, stale heartbeat; healthy custom conditions are not faults.
    diagnosis, page = diagnose(client, cluster, "nodes", "dead-1", namespace=None)
    assert messages(diagnosis, "NODE-NOTREADY") == [
        "dead-1 has condition of type Ready, reason NodeStatusUnknown: Kubelet stopped posting node status."]
    pressure = messages(diagnosis, "NODE-PRESSURE")
    assert "dead-1 has condition of type DiskPressure, reason KubeletHasDiskPressure: kubelet has disk pressure" \
        in pressure and len(pressure) == 2  # MemoryPressure Unknown counts too
    assert item(diagnosis, "NODE-CUSTOM-CONDITION")["status"] == "normal"  # KernelReady=True, KernelDeadlock=False
    assert re.match(r"Kubelet heartbeat is \d+ s old", messages(diagnosis, "NODE-HEARTBEAT-STALE")[0])
    assert "Taint node.kubernetes.io/unreachable=:NoExecute prevents scheduling" in messages(diagnosis, "NODE-TAINTS")

    # Services: a selector matching nothing, and a target port the pods do not expose.
    diagnosis, page = diagnose(client, cluster, "services", "orphan")
    assert messages(diagnosis, "SVC-NO-ENDPOINTS") == ["Service has no endpoints, expected label app=orders"]
    assert messages(diagnosis, "SVC-SELECTOR-NO-PODS") == ["Selector app=orders matches no pods in namespace shop"]
    diagnosis, _page = diagnose(client, cluster, "services", "web")
    assert messages(diagnosis, "SVC-PORT-MISMATCH") == [
        "targetPort 9090 is not exposed by the selected pods (they declare 8080)"]
    assert item(diagnosis, "SVC-NO-ENDPOINTS")["status"] == "normal"
    diagnosis, _page = diagnose(client, cluster, "services", "healthy")
    assert diagnosis.abnormal_count == 0

    # Ingress: a missing backend Service, a port the Service lacks, a missing TLS secret.
    diagnosis, _page = diagnose(client, cluster, "ingresses", "storefront")
    assert messages(diagnosis, "ING-BACKEND-SVC-MISSING") == ["Ingress uses the service shop/catalog which does not exist."]
    assert messages(diagnosis, "ING-BACKEND-PORT") == ["Service healthy has no port https"]
    assert messages(diagnosis, "ING-TLS-SECRET-MISSING") == [
        "Ingress uses the secret shop/shop-tls as a TLS certificate which does not exist."]
    assert item(diagnosis, "ING-CLASS-MISSING")["status"] == "normal"
    assert diagnosis.checks_done == diagnosis.checks_total == len(diagnosis.results)


"""Stock kubectl against the emulator (HTTPS: kubectl never sends a token over plain HTTP)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from typing import Iterator

import pytest
import yaml

from sandbox.kubesim import EmulatorServer

MANIFEST = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "nginx:1.25", ports: [{containerPort: 80}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: shop}
data: {greeting: hello}
"""


def kubectl_binary(version: str | None = None) -> str:
    """Stock kubectl; ``version`` ("1.33") picks that release beside the SDK's dispatcher."""
    binary = shutil.which("kubectl")
    assert binary, "kubectl is required for this test (apt-get install kubernetes-client)"
    if version is None:
        return binary
    exact = os.path.join(os.path.dirname(os.path.realpath(binary)), f"kubectl.{version}")
    assert os.access(exact, os.X_OK), f"kubectl {version} is required for this test ({exact})"
    return exact


@contextlib.contextmanager
def kubectl_on_emulator(binary: str, home) -> Iterator:
    with EmulatorServer(tls=True, seed_files=["local-3node"]) as srv:
        config = srv.write_kubeconfig(home / "config")
        env = {**os.environ, "HOME": str(home), "KUBECONFIG": config}

        def run(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
            result = subprocess.run([binary, "--cache-dir", str(home / "cache"), *args], input=stdin, env=env,
                                    capture_output=True, text=True, timeout=60)
            if check:
                assert result.returncode == 0, f"kubectl {' '.join(args)} failed: {result.stderr}"
            return result

        run.env = env
        yield run


@pytest.fixture(scope="module")
def kubectl133_popen(kubectl133) -> Iterator:
    """Start kubectl 1.33 in the background against the same emulator as ``kubectl133``."""
    env = kubectl133.env

    def start(*args: str) -> subprocess.Popen:
        return subprocess.Popen([kubectl_binary("1.33"), *args], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    yield start


@pytest.fixture(scope="module")
def kubectl(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    with kubectl_on_emulator(kubectl_binary(), tmp_path_factory.mktemp("kubectl-home")) as run:
        yield run


@pytest.fixture(scope="module")
def kubectl133(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """kubectl 1.33: client-go sends built-in kinds in protobuf."""
    with kubectl_on_emulator(kubectl_binary("1.33"), tmp_path_factory.mktemp("kubectl133-home")) as run:
        yield run


def test_get_pods_across_namespaces(kubectl) -> None:
    out = kubectl("get", "pods", "-A").stdout
    header = out.splitlines()[0].split()
    assert header == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    crashing = next(line.split() for line in out.splitlines() if line.startswith("prod") and "api-" in line
                    and "CrashLoopBackOff" in line)
    assert crashing[2:5] == ["0/1", "CrashLoopBackOff", "7"]
    assert "ImagePullBackOff" in out and "Completed" in out


def test_apply_get_yaml_scale_logs_delete(kubectl) -> None:
    applied = kubectl("apply", "-f", "-", stdin=MANIFEST).stdout
    assert "namespace/shop created" in applied and "deployment.apps/web created" in applied
    again = kubectl("apply", "-f", "-", stdin=MANIFEST.replace("greeting: hello", "greeting: hi")).stdout
    assert "configmap/web-config configured" in again and "deployment.apps/web unchanged" in again
    assert kubectl("get", "configmap", "web-config", "-n", "shop", "-o", "jsonpath={.data.greeting}").stdout == "hi"

    deployment = yaml.safe_load(kubectl("get", "deploy", "web", "-n", "shop", "-o", "yaml").stdout)
    assert deployment["spec"]["replicas"] == 2 and deployment["status"]["readyReplicas"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in deployment["metadata"]["annotations"]

    kubectl("scale", "deploy/web", "-n", "shop", "--replicas=3")
    pods = kubectl("get", "pods", "-n", "shop", "-l", "app=web", "-o", "name").stdout.split()
    assert len(pods) == 3
    assert "start worker processes" in kubectl("logs", "-n", "shop", pods[0]).stdout

    assert 'deployment.apps "web" deleted' in kubectl("delete", "deploy", "web", "-n", "shop").stdout
    assert kubectl("get", "pods", "-n", "shop", "-o", "name").stdout.strip() == ""
    missing = kubectl("get", "deploy", "web", "-n", "shop", check=False)
    assert missing.returncode == 1
    assert 'Error from server (NotFound): deployments.apps "web" not found' in missing.stderr


def test_auth_can_i_with_impersonation(kubectl) -> None:
    assert kubectl("auth", "can-i", "delete", "nodes").stdout.strip() == "yes"
    denied = kubectl("auth", "can-i", "list", "pods", "-n", "prod", "--as", "nobody", check=False)
    assert denied.stdout.strip() == "no" and denied.returncode == 1
    allowed = kubectl("auth", "can-i", "patch", "deployments", "-n", "prod", "--as", "dev",
                      "--as-group", "prod-deployers")
    assert allowed.stdout.strip() == "yes"
    forbidden = kubectl("get", "nodes", "--as", "nobody", check=False)
    assert 'nodes is forbidden: User "nobody" cannot list resource "nodes" in API group "" at the cluster scope' \
        in forbidden.stderr


def test_kubectl_133_writes_built_in_kinds_in_protobuf(kubectl133) -> None:
    verbose = kubectl133("create", "ns", "proto", "-v=8").stderr
    assert "Content-Type: application/vnd.kubernetes.protobuf" in verbose  # what this test is about
    namespace = yaml.safe_load(kubectl133("get", "ns", "proto", "-o", "yaml").stdout)
    assert namespace["status"]["phase"] == "Active" and namespace["spec"]["finalizers"] == ["kubernetes"]

    kubectl133("create", "deployment", "idle", "--image=nginx:1.25", "--replicas=0", "--port=80", "-n", "proto")
    spec = yaml.safe_load(kubectl133("get", "deploy", "idle", "-n", "proto", "-o", "yaml").stdout)["spec"]
    assert spec["replicas"] == 0  # a pointer set to zero is kept
    assert spec["strategy"]["type"] == "RollingUpdate"  # zero-valued structs are absent, so defaulted
    assert spec["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert "creationTimestamp" not in spec["template"]["metadata"]

    kubectl133("create", "secret", "generic", "token", "--from-literal=key=s3cret", "-n", "proto")
    assert kubectl133("get", "secret", "token", "-n", "proto", "-o", "jsonpath={.data.key}").stdout == "czNjcmV0"
    kubectl133("create", "configmap", "settings", "--from-literal=mode=demo", "-n", "proto")
    assert kubectl133("get", "cm", "settings", "-n", "proto", "-o", "jsonpath={.data.mode}").stdout == "demo"
    assert kubectl133("auth", "can-i", "delete", "nodes").stdout.strip() == "yes"
    kubectl133("create", "role", "reader", "--verb=get,list", "--resource=pods", "-n", "proto")
    rules = yaml.safe_load(kubectl133("get", "role", "reader", "-n", "proto", "-o", "yaml").stdout)["rules"]
    assert rules == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]


def test_server_dry_run_changes_nothing(kubectl133) -> None:
    before = kubectl133("get", "pods", "-A", "--field-selector", "spec.nodeName=worker-1", "-o", "name").stdout
    drained = kubectl133("drain", "worker-1", "--dry-run=server", "--ignore-daemonsets", "--force",
                         "--delete-emptydir-data")
    assert "evicting pod prod/postgres-0 (server dry run)" in drained.stderr + drained.stdout
    assert "node/worker-1 drained (server dry run)" in drained.stdout
    after = kubectl133("get", "pods", "-A", "--field-selector", "spec.nodeName=worker-1", "-o", "name").stdout
    assert after == before and "pod/postgres-0" in after
    assert kubectl133("get", "node", "worker-1", "-o", "jsonpath={.spec.unschedulable}").stdout == ""

    kubectl133("create", "ns", "keep")
    assert "(server dry run)" in kubectl133("delete", "ns", "keep", "--dry-run=server").stdout
    kubectl133("create", "configmap", "kept", "-n", "keep", "--from-literal=a=b")
    assert "(server dry run)" in kubectl133("delete", "configmap", "kept", "-n", "keep", "--dry-run=server").stdout
    assert "(server dry run)" in kubectl133("label", "cm", "kept", "-n", "keep", "team=x", "--dry-run=server").stdout
    kubectl133("create", "configmap", "never", "-n", "keep", "--from-literal=a=b", "--dry-run=server")
    replicas = kubectl133("get", "deploy", "web", "-n", "prod", "-o", "jsonpath={.spec.replicas}").stdout
    kubectl133("scale", "deploy", "web", "-n", "prod", "--replicas=9", "--dry-run=server")
    assert kubectl133("get", "deploy", "web", "-n", "prod", "-o", "jsonpath={.spec.replicas}").stdout == replicas
    assert kubectl133("get", "ns", "keep", "-o", "jsonpath={.status.phase}").stdout == "Active"
    assert kubectl133("get", "cm", "-n", "keep", "-o", "name").stdout.split() == ["configmap/kept",
                                                                               "configmap/kube-root-ca.crt"]
    assert kubectl133("get", "cm", "kept", "-n", "keep", "-o", "jsonpath={.metadata.labels}").stdout == ""


BAD_REPLICAS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: typo, namespace: default}
spec:
  replicas: REPLICAS
  selector: {matchLabels: {app: typo}}
  template:
    metadata: {labels: {app: typo}}
    spec:
      containers: [{name: c, image: "nginx:1.25"}]
"""


def test_built_in_kinds_are_decoded_strictly(kubectl133) -> None:
    wrong_type = kubectl133("apply", "-f", "-", stdin=BAD_REPLICAS.replace("REPLICAS", '"two"'), check=False)
    assert wrong_type.returncode == 1
    assert ('Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go '
            'struct field DeploymentSpec.spec.replicas of type int32') in wrong_type.stderr
    nested = BAD_REPLICAS.replace("REPLICAS", "2").replace('image: "nginx:1.25"', 'image: "nginx:1.25", tty: "yes"')
    assert ("cannot unmarshal string into Go struct field Container.spec.template.spec.containers.tty of type bool"
            in kubectl133("apply", "-f", "-", stdin=nested, check=False).stderr)

    unknown = BAD_REPLICAS.replace("REPLICAS", "2\n  colour: blue")
    strict = kubectl133("apply", "-f", "-", stdin=unknown, check=False)  # kubectl asks for Strict by default
    assert 'strict decoding error: unknown field "spec.colour"' in strict.stderr
    assert kubectl133("get", "deploy", "-n", "default", "-o", "name").stdout.count("typo") == 0
    warned = kubectl133("apply", "-f", "-", "--validate=warn", stdin=unknown)
    assert 'Warning: unknown field "spec.colour"' in warned.stderr
    stored = yaml.safe_load(kubectl133("get", "deploy", "typo", "-n", "default", "-o", "yaml").stdout)
    assert stored["spec"]["replicas"] == 2 and "colour" not in stored["spec"]
    quiet = kubectl133("apply", "-f", "-", "--validate=false", stdin=unknown.replace("blue", "red"))
    assert "Warning" not in quiet.stderr


def test_explain_reads_the_openapi_documents(kubectl133, kubectl) -> None:
    replicas = kubectl133("explain", "deployment.spec.replicas").stdout
    assert "FIELD: replicas <integer>" in replicas and "Number of desired pods" in replicas
    containers = kubectl("explain", "pods.spec.containers").stdout
    assert "FIELD: containers <[]Container>" in containers
    assert "imagePullPolicy\t<string>" in containers and "Container image name" in containers
    kubectl133("apply", "-f", "-", stdin=CRD)
    widget = kubectl133("explain", "widgets.spec").stdout
    assert "GROUP:      example.com" in widget and "size\t<integer>" in widget and "How big it is" in widget


CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, description: How big it is}
"""


APPLIED = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: owned, namespace: default, labels: LABELS}
spec:
  replicas: 2
  selector: {matchLabels: {app: owned}}
  template:
    metadata: {labels: {app: owned}}
    spec:
      containers:
      - {name: web, image: "nginx:1.25", env: ENV}
"""


def _applied(labels: str, env: str) -> str:
    return APPLIED.replace("LABELS", labels).replace("ENV", env)


def test_server_side_apply_owns_fields(kubectl133) -> None:
    full = _applied("{team: a, tier: web}", '[{name: A, value: "1"}, {name: B, value: "2"}]')
    assert "serverside-applied" in kubectl133("apply", "--server-side", "--field-manager=ci", "-f", "-",
                                              stdin=full).stdout
    got = yaml.safe_load(kubectl133("get", "deploy", "owned", "-n", "default", "-o", "yaml",
                                    "--show-managed-fields").stdout)
    (entry,) = got["metadata"]["managedFields"]
    assert entry["manager"] == "ci" and entry["operation"] == "Apply" and entry["fieldsType"] == "FieldsV1"
    containers = entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert containers['k:{"name":"web"}']["f:env"]['k:{"name":"B"}'] == {".": {}, "f:name": {}, "f:value": {}}
    assert "f:revisionHistoryLimit" not in entry["fieldsV1"]["f:spec"]  # defaults belong to no one

    # Another manager changes a field the applier owns: the next apply conflicts, unless forced.
    kubectl133("scale", "deploy", "owned", "-n", "default", "--replicas=3")
    kubectl133("label", "deploy", "owned", "-n", "default", "extra=yes")
    clash = kubectl133("apply", "--server-side", "--field-manager=ci", "-f", "-", stdin=full, check=False)
    assert clash.returncode == 1
    assert 'Apply failed with 1 conflict: conflict with "kubectl.1.33" using apps/v1: .spec.replicas' in clash.stderr
    assert kubectl133("get", "deploy", "owned", "-n", "default", "-o", "jsonpath={.spec.replicas}").stdout == "3"
    kubectl133("apply", "--server-side", "--field-manager=ci", "--force-conflicts", "-f", "-", stdin=full)
    assert kubectl133("get", "deploy", "owned", "-n", "default", "-o", "jsonpath={.spec.replicas}").stdout == "2"

    # Fields the applier stops setting are removed; those someone else set stay.
    kubectl133("apply", "--server-side", "--field-manager=ci", "-f", "-",
               stdin=_applied("{team: a}", '[{name: A, value: "1"}]'))
    got = yaml.safe_load(kubectl133("get", "deploy", "owned", "-n", "default", "-o", "yaml",
                                    "--show-managed-fields").stdout)
    assert got["metadata"]["labels"] == {"team": "a", "extra": "yes"}
    assert got["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}]
    managers = {(e["manager"], e["operation"]) for e in got["metadata"]["managedFields"]}
    assert {("ci", "Apply"), ("kubectl-label", "Update")} <= managers
    dry = kubectl133("apply", "--server-side", "--field-manager=ci", "--dry-run=server", "-f", "-",
                     stdin=_applied("{team: b}", '[{name: A, value: "1"}]'))
    assert "(server dry run)" in dry.stdout
    assert kubectl133("get", "deploy", "owned", "-n", "default", "-o", "jsonpath={.metadata.labels.team}").stdout == "a"


def test_new_namespaces_service_account_tokens_and_more_api_groups(kubectl133) -> None:
    kubectl133("create", "ns", "fresh")
    assert kubectl133("get", "sa", "-n", "fresh", "-o", "name").stdout.split() == ["serviceaccount/default"]
    ca = kubectl133("get", "cm", "kube-root-ca.crt", "-n", "fresh", "-o", "jsonpath={.data.ca\\.crt}").stdout
    assert ca.startswith("-----BEGIN CERTIFICATE-----")  # the CA kubectl trusts for this server
    token = kubectl133("create", "token", "default", "-n", "fresh").stdout.strip()
    who = kubectl133("auth", "whoami", "--token", token).stdout
    assert "system:serviceaccount:fresh:default" in who
    short = kubectl133("create", "token", "default", "-n", "fresh", "--duration=1m", check=False)
    assert "may not specify a duration less than 10 minutes" in short.stderr

    resources = kubectl133("api-resources", "-o", "name").stdout.split()
    for name in ("replicationcontrollers", "podtemplates", "events.events.k8s.io", "apiservices.apiregistration.k8s.io",
                 "validatingwebhookconfigurations.admissionregistration.k8s.io",
                 "mutatingwebhookconfigurations.admissionregistration.k8s.io"):
        assert name in resources
    kubectl133("create", "-f", "-", stdin=APISERVICE)
    assert "v1alpha1.cluster.karmada.io" in kubectl133("get", "apiservices", "-o", "name").stdout
    missing = kubectl133("get", "--raw", "/api/v1/namespaces/fresh/pods/nope", check=False)
    assert 'pods "nope" not found' in missing.stderr


APISERVICE = """
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1alpha1.cluster.karmada.io}
spec:
  group: cluster.karmada.io
  version: v1alpha1
  groupPriorityMinimum: 2000
  versionPriority: 10
  service: {name: karmada-aggregated-apiserver, namespace: karmada-system}
"""


def test_watch_as_tables_and_cluster_ips_clear_of_seeded_ones(kubectl133, kubectl133_popen) -> None:
    kubectl133("create", "ns", "watched")
    watching = kubectl133_popen("get", "configmaps", "-n", "watched", "-w")
    try:
        assert watching.stdout.readline().split() == ["NAME", "DATA", "AGE"]  # the server's Table columns
        kubectl133("create", "configmap", "seen", "-n", "watched", "--from-literal=a=1", "--from-literal=b=2")
        while True:
            line = watching.stdout.readline().split()
            if line[:1] == ["seen"]:
                break
        assert line[:2] == ["seen", "2"]
    finally:
        watching.terminate()
        _, err = watching.communicate(timeout=10)
    assert "Unable to decode server response into a Table" not in err

    seeded = kubectl133("get", "svc", "-A", "-o", "jsonpath={.items[*].spec.clusterIP}").stdout.split()
    assert "10.96.0.10" in seeded  # kube-dns, as in the seed
    for name in ("one", "two", "three"):
        kubectl133("create", "service", "clusterip", name, "--tcp=80:80", "-n", "watched")
    ips = kubectl133("get", "svc", "-A", "-o", "jsonpath={.items[*].spec.clusterIP}").stdout.split()
    assert len([ip for ip in ips if ip != "None"]) == len(set(ip for ip in ips if ip != "None"))


def test_namespace_and_foreground_deletion_wait_for_finalizers(kubectl133) -> None:
    kubectl133("create", "ns", "ending")
    kubectl133("create", "configmap", "held", "-n", "ending")
    kubectl133("patch", "cm", "held", "-n", "ending", "-p", '{"metadata":{"finalizers":["example.com/hold"]}}')
    kubectl133("delete", "ns", "ending", "--wait=false")
    ns = yaml.safe_load(kubectl133("get", "ns", "ending", "-o", "yaml").stdout)
    assert ns["status"]["phase"] == "Terminating" and ns["metadata"]["deletionTimestamp"]
    conditions = {c["type"]: c["message"] for c in ns["status"]["conditions"]}
    assert conditions["NamespaceFinalizersRemaining"] == ("Some content in the namespace has finalizers remaining: "
                                                          "example.com/hold in 1 resource instances")
    refused = kubectl133("create", "configmap", "late", "-n", "ending", check=False)
    assert "because it is being terminated" in refused.stderr
    kubectl133("patch", "cm", "held", "-n", "ending", "--type=json", "-p", '[{"op":"remove","path":"/metadata/finalizers"}]')
    assert "NotFound" in kubectl133("get", "ns", "ending", check=False).stderr

    # Foreground: the owner stays, marked, until its dependents are gone.
    kubectl133("create", "configmap", "owner", "-n", "default")
    uid = kubectl133("get", "cm", "owner", "-n", "default", "-o", "jsonpath={.metadata.uid}").stdout
    kubectl133("create", "-f", "-", stdin=DEPENDENT.replace("UID", uid))
    kubectl133("delete", "cm", "owner", "-n", "default", "--cascade=foreground", "--wait=false")
    owner = yaml.safe_load(kubectl133("get", "cm", "owner", "-n", "default", "-o", "yaml").stdout)
    assert owner["metadata"]["finalizers"] == ["foregroundDeletion"] and owner["metadata"]["deletionTimestamp"]
    kubectl133("patch", "cm", "dependent", "-n", "default", "--type=json", "-p",
               '[{"op":"remove","path":"/metadata/finalizers"}]')
    assert kubectl133("get", "cm", "owner", "dependent", "-n", "default", "--ignore-not-found", "-o",
                      "name").stdout == ""

    kubectl133("create", "deployment", "kept", "--image=nginx:1.25", "-n", "default")
    kubectl133("delete", "deployment", "kept", "-n", "default", "--cascade=orphan")
    orphan = kubectl133("get", "rs", "-n", "default", "-l", "app=kept", "-o", "jsonpath={.items[*].metadata.ownerReferences}")
    assert kubectl133("get", "rs", "-n", "default", "-l", "app=kept", "-o", "name").stdout and orphan.stdout == ""


DEPENDENT = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: dependent
  namespace: default
  finalizers: [example.com/hold]
  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: owner, uid: UID, blockOwnerDeletion: true}]
"""


def test_services_get_endpoints_and_endpoint_slices(kubectl133) -> None:
    kubectl133("create", "ns", "served")
    kubectl133("create", "deployment", "api", "--image=nginx:1.25", "--replicas=2", "--port=8080", "-n", "served")
    kubectl133("expose", "deployment", "api", "--port=80", "--target-port=8080", "-n", "served")
    pod_ips = sorted(kubectl133("get", "pods", "-n", "served", "-o", "jsonpath={.items[*].status.podIP}").stdout.split())
    endpoints = yaml.safe_load(kubectl133("get", "endpoints", "api", "-n", "served", "-o", "yaml").stdout)
    (subset,) = endpoints["subsets"]
    assert sorted(a["ip"] for a in subset["addresses"]) == pod_ips and subset["ports"] == [{"port": 8080,
                                                                                             "protocol": "TCP"}]
    slices = yaml.safe_load(kubectl133("get", "endpointslices", "-n", "served", "-l",
                                       "kubernetes.io/service-name=api", "-o", "yaml").stdout)["items"]
    assert sorted(e["addresses"][0] for e in slices[0]["endpoints"]) == pod_ips
    assert all(e["conditions"]["ready"] for e in slices[0]["endpoints"])

    kubectl133("scale", "deployment", "api", "--replicas=0", "-n", "served")
    assert "subsets" not in yaml.safe_load(kubectl133("get", "endpoints", "api", "-n", "served", "-o", "yaml").stdout)
    kubectl133("delete", "service", "api", "-n", "served")
    assert kubectl133("get", "endpoints,endpointslices", "-n", "served", "-o", "name").stdout == ""

"""The Helm chart (deploy/helm/cceone) rendered by Helm's own engine (helm-python-sdk binds
Helm's Go SDK: no helm binary), linted, every object validated against Kubernetes' schemas
(kubernetes-validate) and applied with `--dry-run=server` to the emulator; the compose file
checked against the Compose specification's schema (tests/deploy/compose-spec.json, from
compose-spec/compose-spec at 170098ba, Apache-2.0), or by `docker compose config` where the
plugin is installed."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import helm_python as helm
import jsonschema
import kubernetes_validate
import pytest
import yaml

from sandbox.kubesim.runner import EmulatorServer

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "cceone"
KUBERNETES = "1.32"
EXTERNAL = {"postgresql": {"enabled": False}, "redis": {"enabled": False},
            "externalDatabase": {"url": "postgres://cceone:pw@db.internal:5432/cceone"},
            "externalRedis": {"url": "redis://redis.internal:6379"},
            "hub": {"replicas": 5, "service": {"type": "NodePort", "nodePort": 30443}},
            "secrets": {"existingSecret": "cceone-prod"}, "ingress": {"className": "nginx", "tlsSecret": "console-tls"}}


def render(values: dict | None = None, upgrade: bool = False) -> list[dict]:
    manifests = helm.Chart.load(str(CHART)).render(values or {}, name="prod", namespace="cceone",
                                                   is_install=not upgrade, is_upgrade=upgrade)
    return [doc for text in manifests.values() for doc in yaml.safe_load_all(text) if doc]


def find(docs, kind, name):
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


@pytest.mark.parametrize("values", [None, EXTERNAL], ids=["bundled", "external"])
def test_the_chart_renders_lints_and_every_object_validates(values):
    report = helm.lint(str(CHART), values, strict=True)
    assert not report["errors"] and not [m for m in report["messages"] if m["severity"] >= 2], report
    docs = render(values)
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for component in ("web", "worker", "beat", "hub"):
        assert ("Deployment", f"prod-cceone-{component}") in kinds
    assert (("StatefulSet", "prod-cceone-postgresql") in kinds) == (values is None)
    assert (("Secret", "prod-cceone-secrets") in kinds) == (values is None)
    for doc in docs:
        spec = doc.get("spec", {}).get("template", {}).get("spec")
        for container in (spec or {}).get("containers", []):
            assert container.get("resources", {}).get("requests"), (doc["metadata"]["name"], container["name"])


def test_hub_replicas_are_spread_kept_available_and_drained():
    docs = render(EXTERNAL)
    hub = find(docs, "Deployment", "prod-cceone-hub")
    pod = hub["spec"]["template"]
    assert hub["spec"]["replicas"] == 5
    anti = pod["spec"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    assert anti["podAffinityTerm"]["labelSelector"]["matchLabels"] == pod["metadata"]["labels"]
    pdb = find(docs, "PodDisruptionBudget", "prod-cceone-hub")
    assert pdb["spec"]["selector"]["matchLabels"] == pod["metadata"]["labels"] and pdb["spec"]["maxUnavailable"] == 1
    container = pod["spec"]["containers"][0]
    assert container["command"] == ["python", "manage.py", "runhub"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert pod["spec"]["terminationGracePeriodSeconds"] > 20  # longer than the drain
    env = {e["name"]: e for e in container["env"]}
    assert env["CCEONE_HUB_ADVERTISE_URL"]["value"] == "http://$(POD_IP):9444"
    public = find(docs, "Service", "prod-cceone-hub")
    assert public["spec"]["type"] == "NodePort" and public["spec"]["ports"][0]["nodePort"] == 30443
    assert find(docs, "Service", "prod-cceone-hub-internal")["spec"]["ports"][0]["port"] == 9444
    beat = find(docs, "Deployment", "prod-cceone-beat")
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"
    job = find(docs, "Job", "prod-cceone-migrate-1")
    assert "pre-upgrade" in job["metadata"]["annotations"]["helm.sh/hook"]
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][-2:] == ["migrate", "--noinput"]
    assert all(d["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"]
               for d in docs if d["kind"] == "Deployment")


def test_generated_secrets_are_complete_and_the_hub_certificate_names_its_host():
    import base64

    from cryptography import x509
    from cryptography.fernet import Fernet

    docs = render({"hubHostname": "hub.example.org"})
    data = {k: base64.b64decode(v).decode() for k, v in find(docs, "Secret", "prod-cceone-secrets")["data"].items()}
    assert data["DATABASE_URL"].startswith("postgres://cceone:") and data["DATABASE_URL"].endswith(
        "@prod-cceone-postgresql:5432/cceone")
    assert data["CELERY_BROKER_URL"] == "redis://prod-cceone-redis:6379/0"
    assert data["CCEONE_HUB_REDIS_URL"] == "redis://prod-cceone-redis:6379/1"
    Fernet(data["CCEONE_ENCRYPTION_KEYS"].split(",")[0])  # a usable key
    assert len(data["SECRET_KEY"]) >= 50 and data["CCEONE_HUB_SECRET"] and data["CCEONE_METRICS_TOKEN"]
    tls = find(docs, "Secret", "prod-cceone-hub-tls")["data"]
    server = x509.load_pem_x509_certificate(base64.b64decode(tls["server.crt"]))
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName)
    assert names == ["hub.example.org"]
    assert {"ca.crt", "ca.key", "server.key"} <= set(tls)


def test_the_rendered_chart_applies_to_the_emulator_with_a_server_dry_run(tmp_path):
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is required (see NOTES: kubectl is on this machine kind)"
    manifest = tmp_path / "cceone.yaml"
    manifest.write_text(yaml.safe_dump_all(render()))
    with EmulatorServer(seed_files=["local-3node"], tls=True) as server:
        env = {**os.environ, "HOME": str(tmp_path), "KUBECONFIG": server.write_kubeconfig(tmp_path / "config")}

        def run(*args):
            return subprocess.run([kubectl, "--cache-dir", str(tmp_path / "cache"), *args], env=env,
                                  capture_output=True, text=True, timeout=120)

        assert run("create", "namespace", "cceone").returncode == 0
        applied = run("apply", "--dry-run=server", "-n", "cceone", "-f", str(manifest))
        assert applied.returncode == 0, applied.stderr
        assert "deployment.apps/prod-cceone-hub created (server dry run)" in applied.stdout
        assert "poddisruptionbudget.policy/prod-cceone-hub created (server dry run)" in applied.stdout
        assert "ingress.networking.k8s.io/prod-cceone created (server dry run)" in applied.stdout
        # A dry run: nothing was kept.
        assert "prod-cceone" not in run("get", "deployments,services,secrets", "-n", "cceone").stdout


def test_the_compose_file_follows_the_compose_specification():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    schema = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
    jsonschema.Draft7Validator(schema).validate(compose)
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "beat", "hub-1", "hub-2", "hub-lb"} <= set(services)
    for name in ("hub-1", "hub-2"):
        assert services[name]["command"][:3] == ["python", "manage.py", "runhub"]
        assert services[name]["environment"]["CCEONE_HUB_REDIS_URL"] == "redis://redis:6379/1"
        assert services[name]["environment"]["CCEONE_HUB_ADVERTISE_URL"] == f"http://{name}:9444"
    balancer = (ROOT / "deploy" / "compose" / "haproxy.cfg").read_text()
    assert "server hub-1 hub-1:9443" in balancer and "server hub-2 hub-2:9443" in balancer
    assert "/readyz" in balancer
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        env = {**os.environ, "POSTGRES_PASSWORD": "x", "SECRET_KEY": "x", "CCEONE_ENCRYPTION_KEYS": "x",
               "CCEONE_HUB_SECRET": "x"}
        checked = subprocess.run(["docker", "compose", "-f", str(ROOT / "docker-compose.yml"), "config", "--quiet"],
                                 env=env, capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr

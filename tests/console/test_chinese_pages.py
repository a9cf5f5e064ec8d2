"""Every console page reads in Chinese: walk the URLconf, open each page as the main account
of a tenant with a running cluster, a fleet, a permission and its association, with
Accept-Language zh-hans, and fail on any visible English word that is not a proper name, a
Kubernetes term or data (object names, namespaces, labels, images from the cluster)."""
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from cceone.iam.models import APIToken, Policy, UserGroup
from resources import registry
from resources.targets import get_type
from tests.conftest import client_for
from tests.factories import ClusterFactory, FederationFactory, FleetFactory
from tests.live import grant

SEED = Path(__file__).resolve().parents[2] / "sandbox/kubesim/seeds/local-3node.yaml"

# Proper names, Kubernetes terms, units and formats that stay in Latin letters in Chinese too.
ALLOWED = {
    "CCE", "One", "Kubernetes", "crontab", "kubectl", "Helm", "YAML", "Karmada", "API", "APIs", "vCPU", "CPU", "CPUs",
    "GiB", "MiB", "KiB", "TiB", "CSV", "JSON", "HTTP", "HTTPS", "URL", "EIP", "ELB", "VPC", "IAM", "DNS", "TLS",
    "RBAC", "NFS", "kubeconfig", "Token", "Authorization", "IPv", "CIDR", "TCP", "UDP", "SCTP", "UTC", "CST",
    "ClusterIP", "NodePort", "LoadBalancer", "ExternalName", "ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany",
    "NotReady", "NoSchedule", "PreferNoSchedule", "NoExecute", "IfNotPresent", "RollingUpdate", "OrderedReady",
    "WaitForFirstConsumer", "Opaque", "ImplementationSpecific", "UID", "QoS", "RWO", "RWX", "ROX", "Kubelet",
    "ClusterRole", "ClusterRoles", "RoleBinding", "RoleBindings", "KubeConfig", "English", "kube-node-lease",
    "kube-public", "kube-system", "virtual-kubelet", "NAT", "CtyunAssumeRoleForCCEONE",
    "cceone", "ccseone", "admins", "users", "viewers", "reader", "readers", "fleet-a", "fed",
    "Asia", "Shanghai", "Pacific", "Beijing", "Guangzhou", "Hong", "Kong", "Singapore",
}


def data_words() -> set[str]:
    """Every word of the emulated cluster's data: the values in its objects (names, namespaces,
    images, statuses, messages) and their label and annotation keys, not the YAML field names."""
    values: list[str] = []

    def leaves(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("labels", "annotations", "data", "selector", "matchLabels", "nodeSelector") \
                        and isinstance(value, dict):
                    values.extend(map(str, value))
                leaves(value)
        elif isinstance(node, list):
            for item in node:
                leaves(item)
        elif node is not None:
            values.append(str(node))

    for document in yaml.safe_load_all(SEED.read_text()):
        leaves(document)
    return set(re.findall(r"[A-Za-z]{3,}", " ".join(values)))


def check_ids() -> set[str]:
    """The ids of the inspection and diagnosis checks, the manual's own names for them
    (PrivilegeEscalationAllowed, POD-CRASHLOOP), shown beside their translated titles."""
    from operations import inspection
    from operations.diagnosis import common

    ids = set(inspection.CHECKS) | {c.id for checks in common.CHECKS.values() for c in checks}
    return {word for check_id in ids for word in re.findall(r"[A-Za-z]{3,}", check_id)}


def kubernetes_words() -> set[str]:
    """Kubernetes identifiers the console shows as they are: kinds, API groups, resources and
    verbs (in the kinds the console knows and in the preset permissions' rules)."""
    from permissions import rbac

    words = {"deletecollection", "impersonate", "bind", "escalate", "core"}
    for kind in registry.all_kinds():
        words |= set(re.findall(r"[A-Za-z]{3,}", f"{kind.kind} {kind.plural} {getattr(kind, 'group', '')}"))
    for preset in rbac.Preset:
        for rule in rbac.preset_rules(preset):
            for field in ("apiGroups", "resources", "verbs"):
                words |= set(re.findall(r"[A-Za-z]{3,}", " ".join(rule.get(field, []))))
    return words


class VisibleText(HTMLParser):
    """The text a reader sees: element text and the placeholder and title attributes, not
    scripts, styles, code, YAML editors or hidden inputs."""

    SKIP = {"script", "style", "code", "pre", "textarea", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.chunks: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.depth += 1
        attributes = dict(attrs)
        for name in ("placeholder", "title", "aria-label", "alt"):
            if attributes.get(name):
                self.chunks.append(attributes[name])
        if tag == "input" and attributes.get("type") in ("submit", "button") and attributes.get("value"):
            self.chunks.append(attributes["value"])

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth:
            self.chunks.append(data)


def english_words(html: str, allowed: set[str]) -> dict[str, str]:
    """Untranslated word → the text around its first appearance."""
    parser = VisibleText()
    parser.feed(html)
    text = " ".join(" ".join(parser.chunks).split())
    # Links, hostnames, paths, dotted identifiers and IAM actions are addresses, not prose;
    # a label (`type: virtual-kubelet`) and a kubectl command are what the reader types.
    text = re.sub(r"\S*(?:://|/|\.[a-z]|@|_|=|:[A-Za-z0-9*])\S*", " ", text)
    text = re.sub(r"\b[a-z][a-z0-9.-]*: [a-z0-9][a-z0-9.-]*", " ", text)
    text = re.sub(r"\bkubectl( [a-z-]+)+", " ", text)
    text = text.replace("API Server", "API")  # the manual's name for kube-apiserver
    found = {}
    for match in re.finditer(r"[A-Za-z0-9][A-Za-z0-9-]*", text):
        token = match.group()
        if token in allowed or re.search(r"\d", token):
            continue  # a name with a number (edge-01, web-9dc7954c7-fffd7) is an object's
        for word in token.split("-"):
            if len(word) >= 3 and word.isalpha() and word not in allowed and word not in found:
                found[word] = text[max(0, match.start() - 30):match.end() + 30]
    return found


# Routes that are not pages a reader sees in Chinese: actions (POST only), downloads, streams,
# public or operators' pages, the machine-readable API.
NOT_PAGES = {
    "healthz", "metrics", "favicon", "login", "logout", "set_language", "console:set-region",
    "iam:api-token-revoke", "clusters:access-action", "clusters:agent-yaml", "fleets:remove-cluster",
    "fleets:protection", "federation:protection", "federation:fleet", "federation:access-action",
    "federation:member-network", "federation:join-fleet", "federation:leave-fleet",
    "permissions:sync-retry", "billing:usage-export", "billing:showback-export", "resources:logs-stream",
    "resources:logs-download",
    "resources:drain-status", "backups:download", "backups:location-check", "backups:restore-apply",
    "resources:terminal-stream", "resources:terminal-input",
    "operations:diagnosis-confirm", "operations:inspection-run", "operations:schedule-delete",
    "operations:waiver-revoke", "backups:migration-confirm", "backups:migration-cancel", "monitoring:test",
    # The preview partial (POST, part of the workload page) and a placement, which needs a live
    # Karmada: tests/federation/test_console.py reads both in Chinese.
    "federation:division-preview", "federation:placement",
    # A workload's drift needs a live Karmada and members: tests/federation/test_drift.py reads it
    # in Chinese with this file's check; its re-sync is an action (POST).
    "federation:drift", "federation:drift-resync",
    "federation:migration-advance", "federation:migration-rollback",
}
EXEMPT_NAMESPACES = {"admin", "api"}


def page_routes() -> set[str]:
    names = set()

    def walk(resolver, prefix, namespaces):
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                walk(entry, prefix + str(entry.pattern), namespaces + ([entry.namespace] if entry.namespace else []))
            elif isinstance(entry, URLPattern) and entry.name:
                if not (namespaces and namespaces[0] in EXEMPT_NAMESPACES) and not prefix.startswith("api/"):
                    names.add(":".join([*namespaces, entry.name]))

    walk(get_resolver(), "", [])
    return names - NOT_PAGES


@pytest.fixture
def world(connected_cluster, emulator, tenant):
    from cceone.audit.services import record
    from cceone.iam import services as iam
    from permissions import services as permissions
    from tests.factories import top_up

    grant(emulator, tenant.main, "cluster-admin")
    fleet = FleetFactory(account=tenant.account, name="fleet-a")
    fleet_cluster = ClusterFactory(account=tenant.account, name="edge-02", fleet=fleet)
    federation = FederationFactory(account=tenant.account, name="fed-a", fleet=fleet)
    from federation.models import FederationMember, FederationMigration

    FederationMember.objects.create(federation=federation, cluster=fleet_cluster, name="edge-02", status="failed")
    permission = permissions.save_permission(tenant.main, None, name="reader", rules=[
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}])
    binding = permissions.associate(tenant.main, connected_cluster, user=tenant.user, preset="restricted")
    top_up(tenant.account, 100)
    record(tenant.main, "iam:update", ("user", tenant.user.pk, tenant.user.username), account=tenant.account)
    APIToken.issue(tenant.main, "script")
    cluster_pk, fleet_pk = connected_cluster.pk, fleet.pk
    policy = iam.save_policy(tenant.main, None, name="readers", description="", actions=["clusters:list"],
                             scope=Policy.Scope.ACCOUNT)
    project = iam.save_project(tenant.main, None, name="web", description="")
    return {
        "iam:user-edit": {"pk": tenant.nopolicy.pk}, "iam:user-password": {"pk": tenant.nopolicy.pk},
        "iam:user-delete": {"pk": tenant.nopolicy.pk},
        "iam:group-edit": {"pk": UserGroup.objects.get(account=tenant.account, name="viewers").pk},
        "iam:group-delete": {"pk": UserGroup.objects.get(account=tenant.account, name="viewers").pk},
        **{name: {"pk": policy.pk} for name in ("iam:policy-edit", "iam:policy-delete")},
        **{name: {"pk": project.pk} for name in ("iam:project-edit", "iam:project-delete")},
        "clusters:order": {"cluster_type": "local"}, "console:agreement": {"name": "service"},
        **{name: {"pk": cluster_pk} for name in ("clusters:overview", "clusters:access", "clusters:operations",
                                                  "clusters:unsubscribe", "permissions:cluster",
                                                  "billing:showback-cluster")},
        **{name: {"pk": fleet_pk} for name in ("fleets:detail", "fleets:edit", "fleets:add-clusters",
                                                "fleets:permissions", "fleets:delete")},
        **{name: {"pk": federation.pk} for name in ("federation:detail", "federation:unsubscribe",
                                                     "federation:access", "federation:workload-create",
                                                     "federation:promote", "federation:failover",
                                                     "federation:migrations")},
        "federation:migration": {"pk": federation.pk, "migration_pk": FederationMigration.objects.create(
            federation=federation, source="edge-02", target="edge-03", namespace="default", steps=[[1, 0], [0, 1]],
            history=[{"event": "promoted", "step": 0, "weights": [1, 0], "at": "2026-12-07T10:00:00"}]).pk},
        "fleet_cluster": fleet_cluster,
        "permissions:edit": {"pk": permission.pk}, "permissions:delete": {"pk": permission.pk},
        "permissions:association-edit": {"pk": binding.pk}, "permissions:association-delete": {"pk": binding.pk},
        "tenant": tenant, "cluster": connected_cluster, **backup_pages(tenant, connected_cluster),
        **operations_pages(tenant, connected_cluster), **addon_pages(connected_cluster),
    }


def addon_pages(cluster) -> dict:
    """The monitoring pages and the add-on pages, with metrics-server installed."""
    from addons.models import AddonInstallation

    AddonInstallation.objects.create(cluster=cluster, addon="metrics-server", version="0.7.1", status="installed")
    return {"monitoring:cluster": {"pk": cluster.pk}, "monitoring:configure": {"pk": cluster.pk},
            "addons:cluster": {"pk": cluster.pk},
            **{name: {"pk": cluster.pk, "addon": "metrics-server"} for name in ("addons:upgrade", "addons:uninstall")},
            "addons:install": {"pk": cluster.pk, "addon": "kube-state-metrics"}}


def addon_words() -> set[str]:
    """The add-ons' names and proper titles, versions and parameter choices, as the catalogue
    shows them, and the names monitoring shows as they are (Prometheus, its monitor kinds)."""
    from addons import catalogue

    text = " ".join(f"{a.name} {a.title} {' '.join(c for p in a.parameters for c in p.choices)}"
                    for a in catalogue.ADDONS.values())
    return set(re.findall(r"[A-Za-z]{3,}", text)) | {"Prometheus", "ServiceMonitor", "PodMonitor", "NGINX",
                                                     "HorizontalPodAutoscaler", "FederatedHPA", "Operator",
                                                     "prometheus", "monitoring", "Bearer", "Status", "Targets", "cube",
                                                     *catalogue.FIELD_MANAGER.split("-")}


def operations_pages(tenant, cluster) -> dict:
    """A diagnosis with an abnormal item, an inspection report, a schedule and a waiver."""
    from datetime import timedelta

    from django.utils import timezone

    from operations import services as operations
    from operations.models import Diagnosis, Inspection, Waiver

    diagnosis = Diagnosis.objects.create(cluster=cluster, requested_by=tenant.main, kind="pods", namespace="default",
                                         name="web", status="succeeded",
                                         results=[{"check": "POD-CRASHLOOP", "status": "abnormal",
                                                   "title": "Crash loop", "severity": "critical", "remedy": "",
                                                   "findings": []}])
    inspection = Inspection.objects.create(cluster=cluster, status="succeeded", score=90, counts={})
    operations.save_schedule(tenant.main, cluster, {"minute": "0", "hour": "2", "day_of_month": "*",
                                                    "month_of_year": "*", "day_of_week": "*",
                                                    "timezone": "Asia/Shanghai"})
    waiver = Waiver.objects.create(cluster=cluster, check_id="NoCPULimits", namespace="default", name="web",
                                   reason="r", expires_at=timezone.now() + timedelta(days=1))
    # The confirmation of an item and the waiver's revocation are forms on these pages (POST only).
    assert waiver.pk
    return {"operations:diagnosis": {"pk": diagnosis.pk}, "operations:inspection": {"pk": inspection.pk},
            **{name: {"pk": cluster.pk} for name in ("operations:cluster", "operations:schedule",
                                                      "operations:waiver-new")}}


def backup_pages(tenant, cluster) -> dict:
    """A storage location, a completed backup with its contents, a dry run with findings, a schedule."""
    from backups.models import Backup, BackupSchedule, Migration, Restore, StorageLocation

    location = StorageLocation.objects.create(account=tenant.account, name="s3-01", endpoint="http://127.0.0.1:9",
                                              bucket="backups", access_key="key", sandbox=True)
    backup = Backup.objects.create(
        account=tenant.account, cluster=cluster, location=location, name="edge-1", phase="completed",
        include_pv_data=True, item_count=1, manifest={"resources": {"deployments.apps": {
            "group": "apps", "version": "v1", "resource": "deployments", "kind": "Deployment", "namespaced": True,
            "count": 1}}})
    row = {"kind": "Deployment", "resource": "deployments.apps", "source_namespace": "default",
           "namespace": "default", "name": "web", "result": "new", "reason": "", "changes": [], "diff": "+kind: x"}
    restore = Restore.objects.create(account=tenant.account, name="edge-1-r", backup=backup, target=cluster,
                                     dry_run=True, phase="completed", results=[row], counts={"new": 1},
                                     preflight={"namespaces_to_create": [{"what": "default", "detail": ""}]})
    schedule = BackupSchedule.objects.create(account=tenant.account, name="edge-2", cluster=cluster,
                                             location=location, crontab="0 2 * * *", keep_last=3)
    # A migration after its dry run, waiting for the user (to a second cluster of the tenant).
    target = ClusterFactory(account=tenant.account, name="edge-3")
    migration = Migration.objects.create(account=tenant.account, name="edge-9", source=cluster, target=target,
                                         location=location, backup=backup, dry_run=restore,
                                         namespace_mapping={"default": "prod"}, state="awaiting_confirmation")
    return {"backups:migration-detail": {"pk": migration.pk}, "backups:cluster": {"pk": cluster.pk},"backups:detail": {"pk": backup.pk}, "backups:delete": {"pk": backup.pk},
            "backups:restore": {"pk": backup.pk}, "backups:restore-detail": {"pk": restore.pk},
            "backups:schedule-delete": {"pk": schedule.pk}, "backups:location-edit": {"pk": location.pk},
            "backups:location-delete": {"pk": location.pk}}


def resource_urls(client, cluster) -> dict[str, list[str]]:
    """route name → URLs: the summary, every kind's list and create form, and for every kind
    the first object its list links to, with each of that object's pages."""
    target = {"target_type": "cluster", "target_id": str(cluster.pk)}
    urls: dict[str, list[str]] = {"resources:summary": [reverse("resources:summary", kwargs=target)]}
    for kind in filter(get_type("cluster").serves, registry.all_kinds()):
        list_url = reverse("resources:list", kwargs={**target, "kind": kind.plural})
        urls.setdefault("resources:list", []).append(list_url)
        urls.setdefault("resources:create", []).append(reverse("resources:create", kwargs={**target,
                                                                                           "kind": kind.plural}))
        listing = client.get(list_url).content.decode()
        first = re.search(rf'href="({re.escape(list_url)}[a-z0-9.-]+/(?:[a-z0-9.-]+/)?)"', listing)
        if first:
            detail = first.group(1)
            urls.setdefault("resources:detail", []).append(detail)
            for action in ("edit", "delete", "scale", "restart", "labels", "reveal", "logs", "cordon", "taints",
                           "drain", "terminal"):
                urls.setdefault(f"resources:{action}", []).append(f"{detail}_{action}/")
    return urls


def test_every_page_reads_in_chinese(world, emulator):
    """As the main account every page; then as a viewer (read-only in the cluster) what a
    viewer may open, refusals included: what a viewer is told instead must be Chinese too."""
    from cceone.iam.models import User

    tenant, cluster = world["tenant"], world["cluster"]
    grant(emulator, tenant.viewer, "view")
    # What the fixtures named: users (the operator who tops up too), the token, the policy.
    names = " ".join([*User.objects.values_list("username", flat=True), tenant.account.name, "script"])
    allowed = (ALLOWED | data_words() | kubernetes_words() | check_ids() | addon_words()
               | set(re.findall(r"[A-Za-z]{3,}", names)))
    untranslated: dict[str, dict[str, str]] = {}
    rendered = 0
    for persona in ("main", "viewer"):
        client = client_for(tenant.persona(persona), "zh-hans")
        urls = resource_urls(client, cluster)
        for name in page_routes():
            if not name.startswith("resources:"):
                urls[name] = [reverse(name, kwargs=world.get(name, {}))]
        assert set(urls) >= page_routes() - {"resources:drain-status"}, "a page without a URL to open"
        for name, addresses in sorted(urls.items()):
            for url in addresses:
                response = client.get(url)
                if name.startswith("resources:") and name not in ("resources:list", "resources:summary",
                                                                   "resources:detail") \
                        and response.status_code in (302, 404, 405):
                    continue  # an action this kind has not, or one without a page of its own
                if persona == "main":
                    assert response.status_code == 200, (url, response.status_code)
                elif response.status_code not in (200, 403):
                    continue
                if "text/html" not in response.get("Content-Type", ""):
                    continue
                rendered += 1
                words = english_words(response.content.decode(), allowed)
                if words:
                    untranslated[f"{persona} {url}"] = words
    assert rendered > 120
    assert untranslated == {}, "\n".join(f"{url}: {word!r} in {context!r}" for url, words in untranslated.items()
                                         for word, context in words.items())


@pytest.mark.parametrize("html, expected", [
    ("<h1>Registered clusters</h1>", {"Registered", "clusters"}),
    ("<h1>集群</h1><script>var Registered = 1</script><pre>kind: Deployment</pre>", set()),
    ('<input placeholder="Search by name">', {"Search", "name"}),
    ("<td>CCE One</td><td>https://example.com/path</td><td>edge-01</td>", set()),
    ("<h1>Sub-accounts</h1>", {"Sub", "accounts"}),
])
def test_the_check_sees_what_a_reader_sees(html, expected):
    assert set(english_words(html, ALLOWED)) == expected


@pytest.fixture
def ordered_cluster(tenant, django_capture_on_commit_callbacks):
    """A local cluster ordered by a sub-account reading English: its operation log was
    written in the order's request and by the provisioning task."""
    from clusters.models import RegisteredCluster
    from tests.clusters.test_order import local_order, post, with_project
    from tests.factories import make_inventory, ready_to_order

    inventory = make_inventory()
    ready_to_order(tenant.account)
    client = client_for(tenant.admin, "en")
    data = with_project(tenant, local_order(inventory))
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, "local", {**data, "agreed": "on"}, "submit").status_code == 302
    return RegisteredCluster.objects.get(name="idc-beijing-01")


@pytest.mark.parametrize("language, expected", [
    ("zh-hans", ["订单已受理", "由 acme-admin 提交。", "在集群中部署代理 YAML 以完成接入。"]),
    ("en", ["Order accepted", "Submitted by acme-admin.", "Apply the agent YAML in the cluster to connect it."]),
])
def test_an_operation_log_reads_in_the_readers_language(tenant, ordered_cluster, language, expected):
    content = client_for(tenant.main, language).get(
        reverse("clusters:operations", args=[ordered_cluster.pk])).content.decode()
    for text in expected:
        assert text in content
    if language == "zh-hans":
        names = {"acme-admin", "idc-beijing-01", "acme", "Ltd", "Standard", "subnet-a"}  # the tenant's and inventory's
        assert english_words(content, ALLOWED | names) == {}


@pytest.mark.parametrize("language, expected, foreign", [
    ("zh-hans", ["原状态", "新状态", "代理心跳"], ["开始时间", "agent heartbeat"]),
    ("en", ["Previous status", "New status", "agent heartbeat"], ["原状态"]),
])
def test_status_history_reads_in_the_readers_language(tenant, language, expected, foreign):
    from clusters import connectivity
    from clusters.models import RegisteredCluster

    cluster = ClusterFactory(account=tenant.account, status=RegisteredCluster.Status.PENDING_ACCESS)
    connectivity._record_heartbeat(cluster.pk, {})  # the agent's first heartbeat: running
    content = client_for(tenant.main, language).get(reverse("clusters:overview", args=[cluster.pk])).content.decode()
    for text in expected:
        assert text in content
    for text in foreign:
        assert text not in content

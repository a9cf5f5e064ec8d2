"""Karmada members (R5.2): the clusters of a federation's fleet, joined in Push mode exactly as
`karmadactl join` does (karmada SPEC §4.2) — the namespace, service accounts, ClusterRole and
binding and token Secrets in the member, the Secrets and the Cluster in Karmada, all labelled
`karmada.io/system` — with one difference: Karmada reaches the member through the hub. The
Cluster's `apiEndpoint` is the hub's kubeconfig proxy URL for that member, and its two Secrets
hold platform tokens issued to this federation for this member (`clusters.platform_tokens`):
`secretRef`'s acts as the `karmada-<member>` service account join created, and
`impersonatorSecretRef`'s relays Karmada's own `Impersonate-*` headers (the aggregated API's
`clusters/<name>/proxy`). So nothing inbound to a member is needed, and revoking the tokens
(leave, unsubscribe, freeze) cuts Karmada off at once.

`FederationMember` rows say what should be joined; `sync()` makes it so and is idempotent:
a crash or a retry in the middle of a join joins again over what is there.
"""
import base64
import logging
import re
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from cceone.audit.models import AuditEvent
from cceone.audit.services import record
from cceone.kube.gateway import KubeError, explain, system_api_for
from clusters import platform_tokens
from clusters.hub_tls import hub_ca_pem
from clusters.models import RegisteredCluster

from .models import Federation, FederationMember

log = logging.getLogger(__name__)

NAMESPACE = "karmada-cluster"  # karmadactl's default --cluster-namespace
SYSTEM_LABELS = {"karmada.io/system": "true"}
IMPERSONATOR = "karmada-impersonator"
CLUSTERS = ("cluster.karmada.io", "v1alpha1", "clusters")
CLUSTER_API_VERSION = "cluster.karmada.io/v1alpha1"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_NAME = 48  # room for the `karmada-es-` prefix (karmada SPEC §4.1)
# Clusters that can take part: the rest stay in the fleet but are not joined (yet).
JOINABLE = (RegisteredCluster.Status.RUNNING, RegisteredCluster.Status.CHANGING)

Status = FederationMember.Status


def member_name(cluster: RegisteredCluster) -> str:
    """The Cluster's name in Karmada: the cluster's own name when it is a DNS-1123 label of at
    most 48 characters, else `cluster-<id>`."""
    name = cluster.name.lower()
    return name if len(name) <= MAX_NAME and DNS_LABEL.fullmatch(name) else f"cluster-{cluster.pk}"


def holder(federation: Federation) -> str:
    return f"federation:{federation.pk}"


def api_endpoint(member: FederationMember) -> str:
    """The hub's kubeconfig proxy URL for the member, on the network the member is set to."""
    base = (settings.CCEONE_HUB_PRIVATE_KUBECONFIG_URL if member.network == FederationMember.Network.PRIVATE
            else settings.CCEONE_HUB_KUBECONFIG_URL)
    return f"{base.rstrip('/')}/k8s/clusters/{member.cluster_id}"


def service_account(name: str) -> str:
    return f"karmada-{name}"


def role_name(name: str) -> str:
    return f"karmada-controller-manager:{service_account(name)}"


def _meta(name: str, namespace: str | None = None, **extra) -> dict:
    meta = {"name": name, "labels": dict(SYSTEM_LABELS), **extra}
    if namespace:
        meta["namespace"] = namespace
    return meta


def _token_secret(account: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
            "metadata": _meta(account, NAMESPACE, annotations={"kubernetes.io/service-account.name": account})}


def member_objects(name: str) -> list[dict]:
    """What `karmadactl join` creates in the member (step 4), in its order."""
    account = service_account(name)
    role = role_name(name)
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(NAMESPACE)},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(IMPERSONATOR, NAMESPACE)},
        _token_secret(IMPERSONATOR),
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(account, NAMESPACE)},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": _meta(role),
         "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                   {"nonResourceURLs": ["*"], "verbs": ["get"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": _meta(role),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
         "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}]},
        _token_secret(account),
    ]


def _b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def karmada_secrets(name: str, token: str, impersonator_token: str) -> list[dict]:
    """What join writes in Karmada (step 5): the impersonator Secret, then the member's."""
    return [
        {"apiVersion": "v1", "kind": "Secret", "metadata": _meta(f"{name}-impersonator", NAMESPACE),
         "data": {"token": _b64(impersonator_token)}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": _meta(name, NAMESPACE),
         "data": {"caBundle": _b64(hub_ca_pem()), "token": _b64(token)}},
    ]


def cluster_object(member: FederationMember) -> dict:
    """The Cluster join creates (step 6), pointing at the hub."""
    return {"apiVersion": CLUSTER_API_VERSION, "kind": "Cluster", "metadata": {"name": member.name},
            "spec": {"syncMode": "Push", "apiEndpoint": api_endpoint(member), "id": member.cluster_uid,
                     "secretRef": {"namespace": NAMESPACE, "name": member.name},
                     "impersonatorSecretRef": {"namespace": NAMESPACE, "name": f"{member.name}-impersonator"}}}


# --- talking to the two sides -------------------------------------------------------------

class JoinError(Exception):
    """A join or leave that cannot go on: `message`, an English msgid with its `params`, is for
    the member's page (stored as they are, shown in the reader's language)."""

    def __init__(self, message: str, params: dict | None = None):
        super().__init__(message % params if params else message)
        self.message, self.params = message, params or {}


def _create(api: k8s.ApiClient, body: dict) -> None:
    """Create `body` unless it exists (karmadactl's "ensure")."""
    kind, meta = body["kind"], body["metadata"]
    core, rbac = k8s.CoreV1Api(api), k8s.RbacAuthorizationV1Api(api)
    create = {
        "Namespace": lambda: core.create_namespace(body),
        "ServiceAccount": lambda: core.create_namespaced_service_account(meta["namespace"], body),
        "Secret": lambda: core.create_namespaced_secret(meta["namespace"], body),
        "ClusterRole": lambda: rbac.create_cluster_role(body),
        "ClusterRoleBinding": lambda: rbac.create_cluster_role_binding(body),
    }[kind]
    try:
        create()
    except ApiException as error:
        if error.status != 409:
            raise


def _delete(call, *args) -> None:
    try:
        call(*args)
    except ApiException as error:
        if error.status != 404:
            raise


def _kube(target, step):
    """Run `step(api)` against `target` as the platform; API and network failures become
    JoinError with the gateway's explanation."""
    try:
        with system_api_for(target) as api:
            return step(api)
    except (ApiException, HTTPError, OSError, KubeError) as error:
        explained = explain(error, target)
        raise JoinError(explained.msgid, explained.params) from error


def _registered(api: k8s.ApiClient) -> list[dict]:
    return k8s.CustomObjectsApi(api).list_cluster_custom_object(*CLUSTERS).get("items") or []


def _prepare_member(member: FederationMember) -> str:
    """Step 2 and 4 in the member: its cluster ID (the kube-system namespace's UID) and
    join's objects."""
    def step(api):
        uid = k8s.CoreV1Api(api).read_namespace("kube-system").metadata.uid
        for body in member_objects(member.name):
            _create(api, body)
        return uid
    return _kube(member.cluster, step)


def _register(federation: Federation, member: FederationMember) -> None:
    """Steps 3, 5-7 in Karmada: refuse a name or ID registered by someone else, write the
    Secrets with fresh platform tokens, create (or point again) the Cluster, own the Secrets."""
    who = holder(federation)
    account = service_account(member.name)

    def step(api):
        core, custom = k8s.CoreV1Api(api), k8s.CustomObjectsApi(api)
        mine = None
        for existing in _registered(api):
            name, spec = existing["metadata"]["name"], existing.get("spec") or {}
            same_name, same_id = name == member.name, spec.get("id") == member.cluster_uid
            if same_name and same_id:
                mine = existing  # joined before (a retry, a new network type, a thaw)
            elif same_name or same_id:
                raise JoinError(N_("The cluster ID %(id)s or the cluster name %(name)s has been registered in the "
                                   "federation."), {"id": member.cluster_uid, "name": member.name})
        with transaction.atomic():
            token = platform_tokens.issue(
                member.cluster, holder=who, purpose="karmada-member", username=f"system:serviceaccount:{NAMESPACE}:{account}",
                groups=("system:serviceaccounts", f"system:serviceaccounts:{NAMESPACE}"))
            impersonator = platform_tokens.issue(
                member.cluster, holder=who, purpose="karmada-impersonator",
                username=f"system:serviceaccount:{NAMESPACE}:{IMPERSONATOR}",
                groups=("system:serviceaccounts", f"system:serviceaccounts:{NAMESPACE}"), relays_impersonation=True)
        _create(api, {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(NAMESPACE)})
        secrets = karmada_secrets(member.name, token, impersonator)
        for body in secrets:
            try:
                core.create_namespaced_secret(NAMESPACE, body)
            except ApiException as error:
                if error.status != 409:
                    raise
                core.patch_namespaced_secret(body["metadata"]["name"], NAMESPACE, {"data": body["data"]})
        wanted = cluster_object(member)
        if mine is None:
            created = custom.create_cluster_custom_object(*CLUSTERS, wanted)
        else:
            created = custom.patch_cluster_custom_object(*CLUSTERS, member.name,
                                                         {"spec": {"apiEndpoint": wanted["spec"]["apiEndpoint"]}})
        owner = {"apiVersion": CLUSTER_API_VERSION, "kind": "Cluster", "name": member.name,
                 "uid": created["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
        for body in secrets:
            core.patch_namespaced_secret(body["metadata"]["name"], NAMESPACE,
                                         {"metadata": {"ownerReferences": [owner]}})
    _kube(federation, step)


def _unregister(federation: Federation, member: FederationMember, wait: float = 10.0) -> bool:
    """Karmada forgets the member (what unjoin does): delete its Cluster and wait until Karmada
    has taken out what it placed there (its controllers still reach the member with our tokens
    meanwhile), then the Secrets. False while the Cluster is still being deleted."""
    def delete(api):
        _delete(k8s.CustomObjectsApi(api).delete_cluster_custom_object, *CLUSTERS, member.name)

    def still_there(api):
        try:
            k8s.CustomObjectsApi(api).get_cluster_custom_object(*CLUSTERS, member.name)
            return True
        except ApiException as error:
            if error.status == 404:
                return False
            raise

    def delete_secrets(api):
        core = k8s.CoreV1Api(api)
        for name in (member.name, f"{member.name}-impersonator"):
            _delete(core.delete_namespaced_secret, name, NAMESPACE)

    _kube(federation, delete)
    deadline = time.monotonic() + wait
    while _kube(federation, still_there):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)
    _kube(federation, delete_secrets)
    return True


def _clean_member(member: FederationMember) -> None:
    """The member forgets Karmada: the ClusterRoleBinding, the ClusterRole, then the namespace
    with its service accounts and Secrets (what unjoin deletes)."""
    role = role_name(member.name)

    def step(api):
        rbac, core = k8s.RbacAuthorizationV1Api(api), k8s.CoreV1Api(api)
        _delete(rbac.delete_cluster_role_binding, role)
        _delete(rbac.delete_cluster_role, role)
        for account in (service_account(member.name), IMPERSONATOR):
            _delete(core.delete_namespaced_secret, account, NAMESPACE)
            _delete(core.delete_namespaced_service_account, account, NAMESPACE)
        _delete(core.delete_namespace, NAMESPACE)
    _kube(member.cluster, step)


# --- the rows -----------------------------------------------------------------------------

def _set(member: FederationMember, status: str, reason: str = "", params: dict | None = None) -> None:
    """`reason`: an English msgid (gettext_noop) with its %-`params`, or Karmada's own words."""
    params = params or {}
    FederationMember.objects.filter(pk=member.pk).update(status=status, reason=reason, reason_params=params)
    member.status, member.reason, member.reason_params = status, reason, params


def plan(federation: Federation) -> None:
    """Rows for what should be joined: each joinable cluster of the federation's fleet joins;
    a member whose cluster left the fleet (or whose federation lost its fleet) leaves."""
    with transaction.atomic():
        federation = Federation.objects.select_for_update().get(pk=federation.pk)
        wanted = {}
        if federation.fleet_id and federation.status in (Federation.Status.RUNNING, Federation.Status.CHANGING):
            wanted = {c.pk: c for c in RegisteredCluster.objects.filter(fleet_id=federation.fleet_id,
                                                                        status__in=JOINABLE)}
        current = {m.cluster_id: m for m in FederationMember.objects.filter(federation=federation)}
        gone = (RegisteredCluster.Status.DESTROYING, RegisteredCluster.Status.UNSUBSCRIBED)
        for cluster_id, member in current.items():
            in_fleet = federation.fleet_id and member.cluster.fleet_id == federation.fleet_id
            if (not in_fleet or member.cluster.status in gone) and member.status != Status.LEAVING:
                _set(member, Status.LEAVING)
        taken = set(FederationMember.objects.filter(federation=federation).values_list("name", flat=True))
        for cluster_id, cluster in wanted.items():
            if cluster_id in current:
                continue
            name = member_name(cluster)
            if name in taken:
                name = f"cluster-{cluster.pk}"
            taken.add(name)
            FederationMember.objects.get_or_create(cluster=cluster, defaults={"federation": federation, "name": name})


def join(member: FederationMember) -> None:
    """Join one member (idempotent); on failure the row says why."""
    federation = member.federation
    try:
        uid = _prepare_member(member)
        if member.cluster_uid != uid:
            FederationMember.objects.filter(pk=member.pk).update(cluster_uid=uid)
            member.cluster_uid = uid
        _register(federation, member)
    except JoinError as error:
        _set(member, Status.FAILED, error.message, error.params)
        record(None, "federations:member-join", federation, account=federation.account,
               result=AuditEvent.Result.FAILED, details={"member": member.name, "cluster": member.cluster.name,
                                          "reason": str(error)})
        return
    FederationMember.objects.filter(pk=member.pk).update(registered_at=timezone.now())
    member.registered_at = timezone.now()
    if member.status != Status.CONNECTED:
        _set(member, Status.JOINING, "")
    record(None, "federations:member-join", federation, account=federation.account,
           details={"member": member.name, "cluster": member.cluster.name, "network": member.network})


def leave(member: FederationMember) -> bool:
    """Take one member out (idempotent): Karmada's objects, the platform tokens, then the
    member's objects. False while a side cannot be reached (the row stays `leaving`)."""
    federation = member.federation
    try:
        if not _unregister(federation, member):
            _set(member, Status.LEAVING, N_("Karmada is taking its workloads out of the member; it leaves then."))
            return False
    except JoinError as error:
        if federation.status != Federation.Status.UNSUBSCRIBING:
            _set(member, Status.LEAVING, error.message, error.params)
            return False
    platform_tokens.revoke(holder(federation), cluster=member.cluster)
    if member.cluster.status != RegisteredCluster.Status.UNSUBSCRIBED:
        try:
            # Also while the cluster is being unsubscribed (its agent may still answer): a
            # service account that may do anything must not stay behind in someone's cluster.
            _clean_member(member)
        except JoinError as error:
            if member.cluster.status != RegisteredCluster.Status.DESTROYING:
                _set(member, Status.LEAVING, error.message, error.params)
                return False
            log.warning("federation %s: %s left without cleaning it up: %s", federation.pk, member.name, error)
    member.delete()
    record(None, "federations:member-leave", federation, account=federation.account,
           details={"member": member.name, "cluster": member.cluster.name})
    return True


def sync(federation_id: int) -> dict:
    """Plan, then join what is to join and take out what is to leave. Frozen federations are
    left alone (their tokens are revoked; thawing syncs again)."""
    federation = Federation.objects.filter(pk=federation_id).first()
    if federation is None or federation.status == Federation.Status.FROZEN:
        return {}
    plan(federation)
    done = {"joined": 0, "left": 0, "failed": 0}
    for member in FederationMember.objects.filter(federation=federation).select_related("cluster", "federation"):
        if member.status == Status.LEAVING:
            done["left" if leave(member) else "failed"] += 1
        elif member.status == Status.FAILED or (member.status == Status.JOINING and member.registered_at is None):
            join(member)
            done["failed" if member.status == Status.FAILED else "joined"] += 1
    refresh(federation)
    return done


def refresh(federation: Federation) -> None:
    """Members' join status from their Cluster's Ready condition in Karmada."""
    members = {m.name: m for m in FederationMember.objects.filter(
        federation=federation, status__in=(Status.JOINING, Status.CONNECTED))}
    if not members:
        return
    try:
        registered = {c["metadata"]["name"]: c for c in _kube(federation, _registered)}
    except JoinError as error:
        log.info("federation %s: members not refreshed: %s", federation.pk, error)
        return
    for name, member in members.items():
        cluster = registered.get(name)
        ready = next((c for c in ((cluster or {}).get("status") or {}).get("conditions") or []
                      if c.get("type") == "Ready"), None)
        if ready and ready.get("status") == "True":
            if member.status != Status.CONNECTED or member.reason:
                _set(member, Status.CONNECTED)
        elif cluster is None:
            _set(member, Status.FAILED, N_("The member's Cluster object is missing in Karmada; retry the join."))
        elif member.status == Status.CONNECTED and ready is not None:
            _set(member, Status.FAILED, ready.get("message") or ready.get("reason") or "")


def set_network(actor, member: FederationMember, network: str) -> None:
    """Change how Karmada reaches the member (public or private hub address) and join again."""
    from cceone.iam.access import require

    from . import signals

    require(actor, "federations:update", member.federation)
    if network not in FederationMember.Network.values:
        raise ValidationError({"network": _("Choose public or private.")})
    with transaction.atomic():
        FederationMember.objects.filter(pk=member.pk).update(network=FederationMember.Network(network),
                                                             status=Status.JOINING, reason="", reason_params={},
                                                             registered_at=None)
        record(actor, "federations:update", member.federation, details={"member": member.name, "network": network})
        signals.members_stale.send(Federation, federation=member.federation)


def revoke_all(federation: Federation) -> int:
    """Karmada loses its way into every member at once (freeze, unsubscribe)."""
    return platform_tokens.revoke(holder(federation))

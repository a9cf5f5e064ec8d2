"""Registered-cluster operations (R3): order, provision, change settings, unsubscribe.

Each checks permission and invariants, writes in one transaction, audits, writes the
operation log, and enqueues background work on commit. Pages and the API call these.
"""
import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_noop as N_  # step names: translated when shown

from cceone import crypto
from cceone.audit.models import OperationLog
from cceone.audit.services import Operation, record
from cceone.iam import mirror
from cceone.iam import services as iam_services
from cceone.iam.access import require
from cceone.iam.models import EnterpriseProject, Region
from cceone.kube.gateway import KubeError, explain

from . import changes, checks, connectivity, order_fields, signals
from . import facts as facts_mod
from .kubeconfigs import revoke_for_cluster
from .transitions import change_status
from .models import (ApiServerSpec, CloudProviderCluster, ClusterStatusChange, RegisteredCluster, SecurityGroup,
                     Subnet, Vpc)

Status = RegisteredCluster.Status
Type = RegisteredCluster.Type

# Registered-cluster names are free (R3.2: only "not repeated"), unlike the federation's 4-40 rule:
# an associated cloud cluster keeps its own name (e.g. `sce-fcelf3-`). They end up in kubeconfig
# entries and download file names, hence ASCII without spaces, quotes or slashes.
NAME_MAX_LENGTH = 64
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
NAME_RULE = gettext_lazy("1-64 characters: letters, digits, '-', '_' and '.', starting with a letter or digit.")


def validate_name(name: str) -> None:
    if not NAME_RE.match(name or "") or len(name) > NAME_MAX_LENGTH:
        raise ValidationError({"name": _("Invalid cluster name. Use 1-64 characters: letters, digits, '-', '_' "
                                         "and '.', starting with a letter or digit.")})


@dataclass
class Order:
    """What the order form collected (R3.2)."""

    cluster_type: str
    region: Region
    name: str
    enterprise_project: EnterpriseProject | None
    provider: str = ""
    vpc: Vpc | None = None
    subnet: Subnet | None = None
    security_group: SecurityGroup | None = None  # None: auto-create
    apiserver_spec: ApiServerSpec | None = None
    apiserver_eip: bool = False
    bind_public_ip: bool = False
    deletion_protection: bool = True
    cloud_cluster: CloudProviderCluster | None = None
    # What the fields other apps add hold (order_fields: the fleet), by field name.
    extras: dict = field(default_factory=dict)

    def as_instance(self, account) -> RegisteredCluster:
        """An unsaved cluster, for permission checks (project-scoped policies)."""
        return RegisteredCluster(account=account, name=self.name, cluster_type=self.cluster_type,
                                 region=self.region, enterprise_project=self.enterprise_project)

    @property
    def instance_type(self) -> str:
        return self.cluster_type

    @classmethod
    def build(cls, *, cluster_type: str, region: Region, enterprise_project: EnterpriseProject | None,
              cloud_cluster: CloudProviderCluster | None = None, name: str = "", provider: str = "",
              vpc: Vpc | None = None, subnet: Subnet | None = None, security_group: SecurityGroup | None = None,
              apiserver_spec: ApiServerSpec | None = None, apiserver_eip: bool = False,
              bind_public_ip: bool = False, deletion_protection: bool = True, extras: dict | None = None) -> "Order":
        """The one way the order page and the API turn what they parsed into an order: a cloud
        cluster is associated under its own name and region and takes no network settings;
        local and third-party clusters take what was entered. `validate_order` judges it."""
        if cluster_type == Type.CLOUD:
            if cloud_cluster is None:
                raise ValidationError({"cloud_cluster": _("Choose the cloud cluster to associate.")})
            return cls(cluster_type=Type.CLOUD, region=cloud_cluster.region, name=cloud_cluster.name,
                       enterprise_project=enterprise_project, cloud_cluster=cloud_cluster, extras=dict(extras or {}))
        return cls(cluster_type=cluster_type, region=region, name=name, provider=provider,
                   enterprise_project=enterprise_project, vpc=vpc, subnet=subnet, security_group=security_group,
                   apiserver_spec=apiserver_spec, apiserver_eip=apiserver_eip, bind_public_ip=bind_public_ip,
                   deletion_protection=deletion_protection, extras=dict(extras or {}))

    def extra_lines(self) -> list[tuple[str, str]]:
        """(label, value) of the fields other apps add, for the confirmation page."""
        return [(str(f.label), f.display(self.extras.get(f.name)) or "—") for f in order_fields.all_fields()]


def gates(account) -> list[str]:
    """Prerequisites missing before any order page works: 'delegation', 'verification'."""
    missing = []
    if not iam_services.has_delegation(account):
        missing.append("delegation")
    if not iam_services.is_verified(account):
        missing.append("verification")
    return missing


def validate_order(actor, order: Order) -> None:
    """Every rule of the order form, on the server; raises ValidationError."""
    account = actor.account
    require(actor, "clusters:create", order.as_instance(account))
    errors = {}
    try:
        validate_name(order.name)
    except ValidationError as error:
        errors.update(error.message_dict)
    if RegisteredCluster.objects.filter(account=account, name=order.name).exclude(
            status=Status.UNSUBSCRIBED).exists():
        errors["name"] = [_("A registered cluster named “%(name)s” already exists.") % {"name": order.name}]
    if order.enterprise_project is None or order.enterprise_project.account_id != account.pk:
        errors["enterprise_project"] = [_("Choose an enterprise project.")]
    if order.cluster_type == Type.CLOUD:
        cloud = order.cloud_cluster
        if cloud is None or cloud.account_id != account.pk:
            errors["cloud_cluster"] = [_("Choose the cloud cluster to associate.")]
        elif not cloud.is_running:
            errors["cloud_cluster"] = [_("Only a running cloud cluster can be associated.")]
        elif RegisteredCluster.objects.filter(cloud_cluster=cloud).exclude(status=Status.UNSUBSCRIBED).exists():
            errors["cloud_cluster"] = [_("This cloud cluster is already registered.")]
    else:
        if not order.provider:
            errors["provider"] = [_("Enter the cluster's provider.")]
        errors.update(network_errors(account, order))
    for extra in order_fields.all_fields():
        try:
            extra.validate(actor, order, order.extras.get(extra.name))
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)


def network_errors(account, order) -> dict:
    """What is wrong with an order's network settings (its `region`, `enterprise_project`'s
    account aside): VPC of the region, subnet of the VPC, a security group of the VPC that is
    shared or the account's (None: auto-create), API server spec of the region. Federation
    orders are judged by the same rules."""
    errors = {}
    if order.vpc is None or order.vpc.region_id != order.region.pk:
        errors["vpc"] = [_("Choose a VPC of the region.")]
    elif order.subnet is None or order.subnet.vpc_id != order.vpc.pk:
        errors["subnet"] = [_("Choose a subnet of the VPC.")]
    if order.security_group is not None and (
            order.vpc is None or order.security_group.vpc_id != order.vpc.pk
            or order.security_group.account_id not in (None, account.pk)):
        errors["security_group"] = [_("Choose a security group of the VPC, or auto-create one.")]
    if order.apiserver_spec is None or order.apiserver_spec.region_id != order.region.pk:
        errors["apiserver_spec"] = [_("Choose the API server access spec.")]
    return errors


def place_order(actor, order: Order, *, agreed: bool) -> RegisteredCluster:
    """Submit an order: gates, validation, dependency checks, agreement; then provision."""
    account = actor.account
    missing = gates(account)
    if "delegation" in missing:
        raise ValidationError(_("Authorise the service delegation before ordering."))
    if "verification" in missing:
        raise ValidationError(_("Complete real-name verification before ordering."))
    validate_order(actor, order)
    if not agreed:
        raise ValidationError({"agreed": _("Read and accept the service agreement to continue.")})
    failed = [r for r in checks.run_all("cluster", account, order) if not r.passed]
    if failed:
        raise ValidationError([f"{r.label}: {r.message}" for r in failed])
    try:
        with transaction.atomic():
            cluster = _create(actor, order)
    except IntegrityError:
        # Two orders raced for the same name; the database kept one.
        raise ValidationError({"name": _("A registered cluster named “%(name)s” already exists.")
                                       % {"name": order.name}}) from None
    return cluster


def _security_group_name(instance_name: str) -> str:
    # A name may take all 64 characters a security group name has; cut the middle.
    return f"cceone-{instance_name[:64 - len('cceone--sg')]}-sg"


def auto_security_group(account, vpc: Vpc, instance_name: str) -> SecurityGroup:
    """The security group an order's "auto-create" records for the account (clusters, federations)."""
    return SecurityGroup.objects.create(vpc=vpc, account=account, auto_created=True,
                                        name=_security_group_name(instance_name))


def fake_eip(instance) -> str:
    """An EIP for an instance. The cloud's EIP service is outside this product; addresses come
    from a documentation range (RFC 5737) so they are recognisably not routable."""
    return f"203.0.113.{(instance.pk % 250) + 1}"


def _create(actor, order: Order) -> RegisteredCluster:
    account = actor.account
    security_group = order.security_group
    if order.cluster_type != Type.CLOUD and security_group is None:
        security_group = auto_security_group(account, order.vpc, order.name)
    cloud = order.cluster_type == Type.CLOUD
    cluster = RegisteredCluster.objects.create(
        account=account, name=order.name, cluster_type=order.cluster_type,
        provider=order.cloud_cluster.get_edition_display() if cloud else order.provider,
        region=order.region, enterprise_project=order.enterprise_project, status=Status.CREATING,
        deletion_protection=order.deletion_protection, creator=actor,
        vpc=order.vpc, subnet=order.subnet, security_group=security_group, apiserver_spec=order.apiserver_spec,
        apiserver_eip=order.apiserver_eip, cloud_cluster=order.cloud_cluster,
        connection_mode=RegisteredCluster.ConnectionMode.DIRECT if cloud else RegisteredCluster.ConnectionMode.AGENT,
    )
    mirror.sync_anchor(cluster)  # what scoped policies give on it (its instance, its project)
    op = Operation.start(cluster, OperationLog.Operation.CREATE)
    op.step(N_("Order accepted"), N_("Submitted by %(user)s."), {"user": actor.get_username()})
    record(actor, "clusters:create", cluster, details={
        "type": order.cluster_type, "region": order.region.code, "bind_public_ip": order.bind_public_ip})
    for extra in order_fields.all_fields():
        if order.extras.get(extra.name) is not None:
            extra.after_order(actor, cluster, order.extras[extra.name], op)
    signals.cluster_ordered.send(RegisteredCluster, operation=op, cluster=cluster,
                                 bind_public_ip=order.bind_public_ip)
    return cluster


# --- provisioning (runs in the worker) ------------------------------------------------

def provision(cluster_id: int, bind_public_ip: bool = False) -> None:
    """Idempotent: only a cluster still `creating` is provisioned; a retry after a crash
    finds it either still creating (and finishes) or already past this step."""
    with transaction.atomic():
        cluster = RegisteredCluster.objects.select_for_update().filter(pk=cluster_id).first()
        if cluster is None or cluster.status != Status.CREATING:
            return
        log = (OperationLog.objects.filter(target_type="cluster", target_id=str(cluster.pk),
                                           operation=OperationLog.Operation.CREATE).first())
        op = Operation(log) if log else Operation.start(cluster, OperationLog.Operation.CREATE)
        if cluster.connection_mode == RegisteredCluster.ConnectionMode.AGENT:
            op.step(N_("Create access endpoint"),
                    N_("API server access %(spec)s in %(vpc)s / %(subnet)s, security group %(sg)s."), {
                        "spec": str(cluster.apiserver_spec), "vpc": str(cluster.vpc),
                        "subnet": str(cluster.subnet), "sg": str(cluster.security_group)})
            fields = []
            if bind_public_ip or cluster.apiserver_eip:
                cluster.eip_address = fake_eip(cluster)
                fields.append("eip_address")
                op.step(N_("Bind EIP"), cluster.eip_address)
            token = connectivity.issue_agent_token(cluster)
            cluster.agent_token_encrypted = crypto.encrypt(token)
            fields.append("agent_token_encrypted")
            op.step(N_("Issue agent credentials"), N_("Apply the agent YAML in the cluster to connect it."))
            if fields:
                cluster.save(update_fields=fields)
            change_status(cluster, Status.PENDING_ACCESS, N_("agent credentials issued"), audit=False)
            op.finish()
            return
    _connect_direct(cluster_id)


def _connect_direct(cluster_id: int) -> None:
    """Cloud clusters: reach the API server directly; running on success."""
    cluster = RegisteredCluster.objects.get(pk=cluster_id)
    try:
        facts = connectivity.read_direct(cluster)
    except KubeError as error:
        _direct_failed(cluster_id, str(error))
        return
    except Exception as error:  # noqa: BLE001 - any failure is reported in the log
        _direct_failed(cluster_id, str(explain(error, cluster)))
        return
    version, nodes = facts_mod.kubernetes_version(facts), facts["nodes"]
    with transaction.atomic():
        cluster = RegisteredCluster.objects.select_for_update().get(pk=cluster_id)
        if cluster.status != Status.CREATING:
            return
        op = _op(cluster)
        op.step(N_("Connect to the API server"), N_("Kubernetes %(version)s, %(nodes)d nodes."), {
            "version": version, "nodes": len(nodes)})
        # heartbeat() below brings it to running
        change_status(cluster, Status.PENDING_ACCESS, N_("API server reached"), audit=False)
        connectivity.heartbeat(cluster.pk, facts, N_("API server reached"))
        op.finish()


def _op(cluster) -> Operation:
    log = OperationLog.objects.filter(target_type="cluster", target_id=str(cluster.pk),
                                      operation=OperationLog.Operation.CREATE).first()
    return Operation(log) if log else Operation.start(cluster, OperationLog.Operation.CREATE)


def _direct_failed(cluster_id: int, reason: str) -> None:
    with transaction.atomic():
        cluster = RegisteredCluster.objects.select_for_update().get(pk=cluster_id)
        if cluster.status != Status.CREATING:
            return
        _op(cluster).fail(N_("Connect to the API server"), reason)
        change_status(cluster, Status.CREATE_FAILED, reason)


def expire_pending_access() -> int:
    """Pending access for longer than the setting → access timeout (the agent may still
    connect later and bring the cluster to running)."""
    cutoff = timezone.now() - timedelta(minutes=settings.CCEONE_ACCESS_TIMEOUT_MINUTES)
    count = 0
    for cluster in RegisteredCluster.objects.filter(status=Status.PENDING_ACCESS, created_at__lt=cutoff):
        with transaction.atomic():
            locked = RegisteredCluster.objects.select_for_update().get(pk=cluster.pk)
            if locked.status != Status.PENDING_ACCESS:
                continue
            change_status(locked, Status.ACCESS_TIMEOUT, N_("no agent connected in time"))
            count += 1
    return count


# Whose operation a stalled background task carries on, by the status it keeps the cluster in.
WORKING = {OperationLog.Operation.CREATE: Status.CREATING, OperationLog.Operation.UNSUBSCRIBE: Status.DESTROYING,
           OperationLog.Operation.CHANGE: Status.CHANGING}


def recover_stalled_operations() -> dict:
    """Clusters stuck creating, changing or destroying because the worker running their operation was
    lost (or its message never arrived): the work is sent again (provision and destroy
    are idempotent), at most CCEONE_RECOVERY_MAX_RESUMES times; after that the operation
    fails with the reason in its log, a cluster still creating becomes creation failed and one
    changing returns to the status it had before the change."""
    counts = {"resumed": 0, "failed": 0}
    limit = settings.CCEONE_RECOVERY_MAX_RESUMES
    for op in Operation.stalled("cluster"):
        with transaction.atomic():
            cluster = RegisteredCluster.objects.select_for_update().filter(pk=op.log.target_id).first()
            if cluster is None or cluster.status != WORKING.get(op.log.operation) or not op.claim():
                continue
            if op.log.resumes > limit:
                message = N_("No progress for %(seconds)d s after %(count)d attempts: the work was given up. "
                             "Contact support if this keeps happening.")
                params = {"seconds": settings.CCEONE_RECOVERY_STALE_SECONDS, "count": op.log.resumes}
                reason = _(message) % params
                op.fail(N_("Recover lost work"), message, params)
                if cluster.status == Status.CREATING:
                    change_status(cluster, Status.CREATE_FAILED, reason)
                elif cluster.status == Status.CHANGING:  # the change is not applied: back as it was
                    change_status(cluster, status_before_change(cluster), reason)
                counts["failed"] += 1
                continue
            op.step(N_("Resume after a lost worker"), N_(
                "No progress for %(seconds)d s: the work was sent again (attempt %(count)d of %(limit)d)."), {
                "seconds": settings.CCEONE_RECOVERY_STALE_SECONDS, "count": op.log.resumes, "limit": limit})
            op.resend()
            counts["resumed"] += 1
    return counts


# --- settings ---------------------------------------------------------------------------

@transaction.atomic
def set_deletion_protection(actor, cluster: RegisteredCluster, enabled: bool) -> None:
    require(actor, "clusters:update", cluster)
    cluster.deletion_protection = enabled
    cluster.save(update_fields=["deletion_protection"])
    record(actor, "clusters:update", cluster, details={"deletion_protection": enabled})


# --- configuration changes (R3: EIP, agent credentials, fleet) ------------------------------
# A change is accepted in the request (checks, audit, status `changing`) and applied by a
# worker (`tasks.apply_change`, sent on `signals.change_started` through the operation log,
# so the recovery sweep resends it if the worker is lost); then the cluster returns to the
# status it had.

# Statuses a configuration change may start from (and returns to).
CHANGEABLE = (Status.RUNNING, Status.PENDING_ACCESS, Status.ACCESS_TIMEOUT, Status.DISCONNECTED)


def change_refusal(cluster: RegisteredCluster) -> str | None:
    """Why no configuration change can start on the cluster now (for the service's error and
    the pages' disabled buttons), or None."""
    if cluster.status == Status.CHANGING:
        return _("A configuration change of the cluster is in progress: try again when it is done.")
    if cluster.status not in CHANGEABLE:
        return _("The cluster cannot be changed while it is %(status)s.") % {
            "status": cluster.get_status_display().lower()}
    return None


def _refuse_if_unchangeable(cluster: RegisteredCluster) -> None:
    refusal = change_refusal(cluster)
    if refusal:
        raise ValidationError(refusal)


def start_change(actor, cluster: RegisteredCluster, kind: str, **params) -> Operation:
    """Accept a change of `kind` (changes.register) on `cluster`, which the caller holds
    locked (select_for_update) inside its transaction: the cluster becomes `changing` and the
    work is sent on commit. `params` are JSON values handed to the change's apply()."""
    change = changes.get(kind)
    _refuse_if_unchangeable(cluster)
    op = Operation.start(cluster, OperationLog.Operation.CHANGE)
    op.step(N_("Change accepted"), N_("Submitted by %(user)s."), {"user": actor.get_username() if actor else ""})
    change_status(cluster, Status.CHANGING, change.reason, audit=False)  # the caller audits the change
    signals.change_started.send(RegisteredCluster, operation=op, cluster=cluster, kind=kind, params=params)
    return op


def status_before_change(cluster: RegisteredCluster) -> str:
    """The status the cluster had when its current change started (it returns to it)."""
    change = (ClusterStatusChange.objects.filter(cluster=cluster, to_status=Status.CHANGING)
              .order_by("-at", "-id").first())
    return change.from_status if change and change.from_status in CHANGEABLE else Status.RUNNING


def _running_change(cluster: RegisteredCluster) -> Operation | None:
    log = (OperationLog.objects.filter(target_type="cluster", target_id=str(cluster.pk),
                                       operation=OperationLog.Operation.CHANGE, status=OperationLog.Status.RUNNING)
           .order_by("-started_at", "-id").first())
    return Operation(log) if log else None


def apply_change(cluster_id: int, kind: str, params: dict | None = None) -> None:
    """Apply an accepted change and return the cluster to its status. Idempotent: a change
    already done (or failed) has no running operation left, and a redelivered message finds
    nothing to do; the change and the return are one transaction, so a lost worker leaves
    the cluster changing with the operation running, which the sweep resends."""
    change = changes.get(kind)
    with transaction.atomic():
        cluster = RegisteredCluster.objects.select_for_update().filter(pk=cluster_id).first()
        op = _running_change(cluster) if cluster else None
        if op is None:
            return
        if cluster.status != Status.CHANGING:  # e.g. frozen for arrears meanwhile
            op.fail(change.name, N_("The cluster became %(status)s before the change was applied: nothing was "
                                    "changed."), {"status": cluster.status})
            return
        try:
            with transaction.atomic():
                change.apply(cluster, op, **(params or {}))
        except ValidationError as error:
            op.fail(change.name, "; ".join(error.messages))
            change_status(cluster, status_before_change(cluster), N_("configuration change failed"))
            return
        change_status(cluster, status_before_change(cluster), N_("configuration change done"), audit=False)
        op.finish()


@transaction.atomic
def bind_eip(actor, cluster: RegisteredCluster) -> None:
    cluster = RegisteredCluster.objects.select_for_update().get(pk=cluster.pk)
    require(actor, "clusters:update", cluster)
    _refuse_if_unchangeable(cluster)
    if cluster.eip_address:
        raise ValidationError(_("An EIP is already bound."))
    start_change(actor, cluster, "bind-eip")
    record(actor, "clusters:bind-eip", cluster)


def _apply_bind_eip(cluster: RegisteredCluster, op: Operation) -> None:
    if not cluster.eip_address:
        cluster.eip_address = fake_eip(cluster)
        cluster.save(update_fields=["eip_address"])
    op.step(N_("Bind EIP"), cluster.eip_address)


@transaction.atomic
def unbind_eip(actor, cluster: RegisteredCluster) -> None:
    cluster = RegisteredCluster.objects.select_for_update().get(pk=cluster.pk)
    require(actor, "clusters:update", cluster)
    _refuse_if_unchangeable(cluster)
    if not cluster.eip_address:
        raise ValidationError(_("No EIP is bound."))
    start_change(actor, cluster, "unbind-eip")
    record(actor, "clusters:unbind-eip", cluster, details={"eip": cluster.eip_address})


def _apply_unbind_eip(cluster: RegisteredCluster, op: Operation) -> None:
    address, cluster.eip_address = cluster.eip_address, None
    cluster.save(update_fields=["eip_address"])
    op.step(N_("Unbind EIP"), address or "")


def agent_token(actor, cluster: RegisteredCluster) -> str | None:
    """The agent token, for the agent YAML. Whoever holds it can connect as the cluster's
    agent (answer its users' requests, report its billed size): a write-tier permission."""
    require(actor, "clusters:update", cluster)
    return crypto.decrypt(cluster.agent_token_encrypted) if cluster.agent_token_encrypted else None


@transaction.atomic
def rotate_agent_token(actor, cluster: RegisteredCluster) -> None:
    """Re-issue the agent credentials (a new token, a new agent YAML); the old token keeps
    working for the grace period, then the agents still using it are disconnected and
    refused (connectivity.expire_previous_agent_tokens)."""
    cluster = RegisteredCluster.objects.select_for_update().get(pk=cluster.pk)
    require(actor, "clusters:update", cluster)
    _refuse_if_unchangeable(cluster)
    if not cluster.agent_token_hash or cluster.connection_mode != RegisteredCluster.ConnectionMode.AGENT:
        raise ValidationError(_("This cluster has no agent token to rotate."))
    start_change(actor, cluster, "rotate-agent-token")
    record(actor, "clusters:rotate-agent-token", cluster,
           details={"grace_minutes": settings.CCEONE_AGENT_TOKEN_GRACE_MINUTES})


def _apply_rotate_agent_token(cluster: RegisteredCluster, op: Operation) -> None:
    if not cluster.agent_token_hash:
        raise ValidationError(_("This cluster has no agent token to rotate."))
    grace = timedelta(minutes=settings.CCEONE_AGENT_TOKEN_GRACE_MINUTES)
    token = connectivity.issue_agent_token(cluster, grace=grace)
    cluster.agent_token_encrypted = crypto.encrypt(token)
    cluster.save(update_fields=["agent_token_encrypted"])
    op.step(N_("Re-issue agent credentials"), N_(
        "Apply the new agent YAML within %(minutes)d minutes: then the old token stops working."),
        {"minutes": settings.CCEONE_AGENT_TOKEN_GRACE_MINUTES})


changes.register(changes.Change("bind-eip", N_("Bind EIP"), N_("EIP binding"), _apply_bind_eip))
changes.register(changes.Change("unbind-eip", N_("Unbind EIP"), N_("EIP unbinding"), _apply_unbind_eip))
changes.register(changes.Change("rotate-agent-token", N_("Re-issue agent credentials"),
                                N_("agent credentials re-issue"), _apply_rotate_agent_token))


# --- unsubscribe (R3.8) ------------------------------------------------------------------

def unsubscribe_checks(cluster: RegisteredCluster) -> list[tuple[str, bool, str]]:
    """(label, passed, message) for each condition unsubscribing needs."""
    result = [(_("Deletion protection is off"), not cluster.deletion_protection,
               _("Turn deletion protection off first.") if cluster.deletion_protection else "")]
    if cluster.status == Status.CHANGING:
        result.append((_("No configuration change is in progress"), False, change_refusal(cluster)))
    for blocker in checks.unsubscribe_blockers():
        label, message = blocker(cluster)
        result.append((label, not message, message or ""))
    return result


def unsubscribe_effects(cluster: RegisteredCluster) -> list[str]:
    """What unsubscribing does besides ending the cluster's access and billing, for the page."""
    effects = checks.unsubscribe_effects(cluster)
    released = [str(name) for name, present in (
        (_("the API server access endpoint (load balancer)"), cluster.connection_mode == RegisteredCluster.ConnectionMode.AGENT
         and cluster.apiserver_spec),
        (_("the EIP %(address)s") % {"address": cluster.eip_address}, cluster.eip_address),
        (_("the security group %(name)s") % {"name": cluster.security_group}, cluster.security_group_id
         and cluster.security_group.auto_created)) if present]
    if released:
        effects.append(_("What the order created is released: %(resources)s.") % {"resources": ", ".join(released)})
    return effects


def unsubscribe(actor, cluster: RegisteredCluster) -> None:
    with transaction.atomic():
        cluster = RegisteredCluster.objects.select_for_update().get(pk=cluster.pk)
        require(actor, "clusters:delete", cluster)
        if cluster.status in (Status.DESTROYING, Status.UNSUBSCRIBED):
            raise ValidationError(_("The cluster is already unsubscribed."))
        failed = [message for _label, passed, message in unsubscribe_checks(cluster) if not passed]
        if failed:
            raise ValidationError(failed)
        op = Operation.start(cluster, OperationLog.Operation.UNSUBSCRIBE)
        previous = cluster.status
        change_status(cluster, Status.DESTROYING, N_("unsubscribed"), audit=False)  # audited as clusters:delete
        op.step(N_("Unsubscribe accepted"), N_("Submitted by %(user)s."), {"user": actor.get_username()})
        record(actor, "clusters:delete", cluster, details={"previous_status": previous})
        signals.cluster_unsubscribed.send(RegisteredCluster, operation=op, cluster=cluster)


def _release_order_resources(cluster: RegisteredCluster, op: Operation) -> None:
    """Release what the order created (R3.8), each a step of the unsubscribe operation. The
    cloud's ELB/EIP services are outside this product: their records here are released."""
    if cluster.connection_mode == RegisteredCluster.ConnectionMode.AGENT and cluster.apiserver_spec:
        op.step(N_("Release access endpoint"), str(cluster.apiserver_spec))
    if cluster.eip_address:
        op.step(N_("Release EIP"), cluster.eip_address)
        cluster.eip_address = None
        cluster.save(update_fields=["eip_address"])
    group = cluster.security_group
    if group is not None and group.auto_created:
        cluster.security_group = None
        cluster.save(update_fields=["security_group"])
        if not RegisteredCluster.objects.filter(security_group=group).exists():
            op.step(N_("Delete security group"), group.name)
            group.delete()


def destroy(cluster_id: int) -> None:
    """Revoke every credential, close the agents' connections, end billing. Idempotent."""
    with transaction.atomic():
        cluster = RegisteredCluster.objects.select_for_update().filter(pk=cluster_id).first()
        if cluster is None or cluster.status != Status.DESTROYING:
            return
        log = OperationLog.objects.filter(target_type="cluster", target_id=str(cluster.pk),
                                          operation=OperationLog.Operation.UNSUBSCRIBE).first()
        op = Operation(log) if log else Operation.start(cluster, OperationLog.Operation.UNSUBSCRIBE)
        cluster.agent_token_hash = cluster.previous_agent_token_hash = cluster.previous_agent_token_expires_at = None
        cluster.agent_token_encrypted = ""
        revoke_for_cluster(cluster)
        op.step(N_("Revoke agent and kubeconfig credentials"))
        _release_order_resources(cluster, op)
        cluster.unsubscribed_at = timezone.now()
        cluster.save(update_fields=["agent_token_hash", "previous_agent_token_hash", "previous_agent_token_expires_at",
                                    "agent_token_encrypted", "unsubscribed_at"])
        change_status(cluster, Status.UNSUBSCRIBED, N_("credentials revoked"), audit=False, at=cluster.unsubscribed_at)
        op.step(N_("Stop billing"), timezone.localtime(cluster.unsubscribed_at).strftime("%Y-%m-%d %H:%M:%S"))
        op.finish()
    # Outside the transaction: tell the hub to drop the agents' tunnels now.
    connectivity.disconnect_agents(cluster_id)

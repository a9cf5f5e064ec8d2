"""Federation operations (R5.1, R5.3, R7.6): order, provision, settings, unsubscribe.

Each checks permission and invariants, writes in one transaction, audits, writes the
operation log and announces background work with a signal (`tasks.py` sends it on commit).
Pages and the API call these; the order takes the same gates, network rules and dependency
checks as a registered cluster's (clusters.services, clusters.checks).
"""
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_noop as N_

from cceone.audit.models import OperationLog
from cceone.audit.services import Operation, record
from cceone.iam import mirror
from cceone.iam.access import can, require
from cceone.iam.models import EnterpriseProject, Region
from cceone.kube.gateway import KubeError, explain, system_client_for
from clusters import checks
from clusters import services as cluster_services
from clusters.models import ApiServerSpec, RegisteredCluster, SecurityGroup, Subnet, Vpc
from fleets.models import Fleet

from . import provisioners, signals
from .models import Federation
from .transitions import change_status

Status = Federation.Status
TARGET = "federation"

# R5.1: 4-40 characters; starts with a letter; letters, digits and '-'; ends with a letter or digit.
NAME_MIN_LENGTH, NAME_MAX_LENGTH = 4, 40
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{2,38}[A-Za-z0-9]$")
NAME_RULE = gettext_lazy("4-40 characters: letters, digits and '-', starting with a letter and ending with a "
                         "letter or digit.")


@dataclass
class Order:
    """What the federation order form collected (R5.1)."""

    region: Region
    name: str
    enterprise_project: EnterpriseProject | None
    fleet: Fleet | None = None
    vpc: Vpc | None = None
    subnet: Subnet | None = None
    security_group: SecurityGroup | None = None  # None: auto-create
    apiserver_spec: ApiServerSpec | None = None
    apiserver_eip: bool = False
    deletion_protection: bool = True

    instance_type = "federation"  # its price (billing.models.InstanceType)

    def as_instance(self, account) -> Federation:
        """An unsaved federation, for permission checks (project-scoped policies)."""
        return Federation(account=account, name=self.name, region=self.region,
                          enterprise_project=self.enterprise_project)


def validate_name(name: str) -> None:
    if not NAME_RE.match(name or ""):
        raise ValidationError({"name": _("Invalid federation name. Use 4-40 characters: letters, digits and '-', "
                                         "starting with a letter and ending with a letter or digit.")})


def validate_order(actor, order: Order) -> None:
    """Every rule of the order form, on the server; raises ValidationError."""
    account = actor.account
    require(actor, "federations:create", order.as_instance(account))
    errors = {}
    try:
        validate_name(order.name)
    except ValidationError as error:
        errors.update(error.message_dict)
    else:
        if Federation.objects.filter(account=account, name=order.name).exclude(status=Status.UNSUBSCRIBED).exists():
            errors["name"] = [_("A federation named “%(name)s” already exists.") % {"name": order.name}]
    if order.enterprise_project is None or order.enterprise_project.account_id != account.pk:
        errors["enterprise_project"] = [_("Choose an enterprise project.")]
    if order.fleet is not None and (problems := fleet_errors(actor, None, order.fleet)):
        errors["fleet"] = problems
    errors.update(cluster_services.network_errors(account, order))
    if errors:
        raise ValidationError(errors)


def place_order(actor, order: Order, *, agreed: bool) -> Federation:
    """Submit an order: gates, validation, agreement, dependency checks; then provision."""
    missing = cluster_services.gates(actor.account)
    if "delegation" in missing:
        raise ValidationError(_("Authorise the service delegation before ordering."))
    if "verification" in missing:
        raise ValidationError(_("Complete real-name verification before ordering."))
    validate_order(actor, order)
    if not agreed:
        raise ValidationError({"agreed": _("Read and accept the service agreement to continue.")})
    failed = [r for r in checks.run_all("federation", actor.account, order) if not r.passed]
    if failed:
        raise ValidationError([f"{r.label}: {r.message}" for r in failed])
    try:
        with transaction.atomic():
            return _create(actor, order)
    except IntegrityError:
        # Two orders raced for the same name or the same fleet; the database kept one.
        validate_order(actor, order)
        raise ValidationError(_("The order conflicts with another one placed at the same time; try again.")) \
            from None


def _create(actor, order: Order) -> Federation:
    account = actor.account
    security_group = order.security_group or cluster_services.auto_security_group(account, order.vpc, order.name)
    federation = Federation.objects.create(
        account=account, name=order.name, region=order.region, enterprise_project=order.enterprise_project,
        status=Status.CREATING, deletion_protection=order.deletion_protection, creator=actor, fleet=order.fleet,
        vpc=order.vpc, subnet=order.subnet, security_group=security_group, apiserver_spec=order.apiserver_spec,
        apiserver_eip=order.apiserver_eip, provisioner=provisioners.current().key,
    )
    mirror.sync_anchor(federation)  # what scoped policies give on it (its instance, its project)
    # The history starts with the order (change_status writes changes, and this is the first status).
    federation.status_changes.create(from_status="", to_status=Status.CREATING, at=federation.created_at,
                                     reason=N_("ordered"))
    op = Operation.start(federation, OperationLog.Operation.CREATE)
    op.step(N_("Order accepted"), N_("Submitted by %(user)s."), {"user": actor.get_username()})
    record(actor, "federations:create", federation, details={
        "region": order.region.code, "fleet": order.fleet.name if order.fleet else None,
        "provisioner": federation.provisioner})
    signals.federation_ordered.send(Federation, operation=op, federation=federation)
    return federation


# --- provisioning (runs in the worker) ------------------------------------------------

def _op(federation, operation) -> Operation:
    log = (OperationLog.objects.filter(target_type=TARGET, target_id=str(federation.pk), operation=operation)
           .order_by("-started_at", "-id").first())
    return Operation(log) if log else Operation.start(federation, operation)


def provision(federation_id: int) -> int | None:
    """Idempotent: only a federation still `creating` is worked on, and each step looks at
    what is done. Returns the seconds to wait before calling again (a control plane still
    starting), or None."""
    with transaction.atomic():
        federation = Federation.objects.select_for_update().filter(pk=federation_id).first()
        if federation is None or federation.status != Status.CREATING:
            return None
        op = _op(federation, OperationLog.Operation.CREATE)
        if not op.log.steps.filter(name=N_("Create access endpoint")).exists():
            op.step(N_("Create access endpoint"),
                    N_("API server access %(spec)s in %(vpc)s / %(subnet)s, security group %(sg)s."), {
                        "spec": str(federation.apiserver_spec), "vpc": str(federation.vpc),
                        "subnet": str(federation.subnet), "sg": str(federation.security_group)})
            if federation.apiserver_eip and not federation.eip_address:
                federation.eip_address = cluster_services.fake_eip(federation)
                federation.save(update_fields=["eip_address"])
                op.step(N_("Bind EIP"), federation.eip_address)
        try:
            wait = provisioners.get(federation.provisioner).acquire(federation, op)
        except provisioners.ProvisionError as error:
            _fail(federation, op, N_("Provide the Karmada control plane"), error.message, error.params)
            return None
        if wait:
            return wait
    return _connect(federation_id)


def _connect(federation_id: int) -> None:
    """Reach the control plane as a client: its version, and that it serves Karmada's API."""
    federation = Federation.objects.select_related("control_plane").get(pk=federation_id)
    from kubernetes.client import VersionApi
    from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

    try:
        client = system_client_for(federation, timeout=(5, 15))
        # Asked, not read from the discovery cache: the API server must answer now.
        version = VersionApi(client.client).get_code().git_version or ""
        client.resources.get(api_version="cluster.karmada.io/v1alpha1", kind="Cluster").get(limit=1)
    except KubeError as error:
        return _connect_failed(federation_id, str(error))
    except (ResourceNotFoundError, NotFoundError):
        return _connect_failed(federation_id, _("%(endpoint)s does not serve Karmada's cluster.karmada.io API: "
                                                "it is not a Karmada control plane.") % {
            "endpoint": federation.control_plane.api_endpoint})
    except Exception as error:  # noqa: BLE001 - any failure is reported in the log
        return _connect_failed(federation_id, str(explain(error, federation)))
    with transaction.atomic():
        federation = Federation.objects.select_for_update().get(pk=federation_id)
        if federation.status != Status.CREATING:
            return None
        op = _op(federation, OperationLog.Operation.CREATE)
        federation.karmada_version = version[:40]
        federation.save(update_fields=["karmada_version"])
        op.step(N_("Connect to the Karmada API server"), N_("Karmada API server %(version)s answers."),
                {"version": version})
        change_status(federation, Status.RUNNING, N_("control plane reached"), audit=False)
        op.finish()
    return None


def _connect_failed(federation_id: int, reason: str) -> None:
    with transaction.atomic():
        federation = Federation.objects.select_for_update().get(pk=federation_id)
        if federation.status != Status.CREATING:
            return None
        _fail(federation, _op(federation, OperationLog.Operation.CREATE), N_("Connect to the Karmada API server"),
              "%(error)s", {"error": reason})
    return None


def _fail(federation, op, step: str, message: str, params: dict) -> None:
    """Creation failed: the control plane goes back, the log and the status say why."""
    provisioners.get(federation.provisioner).release(federation, op)
    op.fail(step, message, params)
    change_status(federation, Status.FAILED, N_("Creation failed: %(reason)s"),
                  {"reason": _(message) % params if params else _(message)})


# Whose operation a stalled background task carries on, by the status it keeps the federation in.
WORKING = {OperationLog.Operation.CREATE: Status.CREATING, OperationLog.Operation.UNSUBSCRIBE: Status.UNSUBSCRIBING}


def recover_stalled_operations() -> dict:
    """Federations stuck creating or unsubscribing because the worker running their operation
    was lost: the work is sent again (it is idempotent), at most CCEONE_RECOVERY_MAX_RESUMES
    times; then the operation fails with the reason, and a federation still creating fails."""
    counts = {"resumed": 0, "failed": 0}
    limit = settings.CCEONE_RECOVERY_MAX_RESUMES
    for op in Operation.stalled(TARGET):
        with transaction.atomic():
            federation = Federation.objects.select_for_update().filter(pk=op.log.target_id).first()
            if federation is None or federation.status != WORKING.get(op.log.operation) or not op.claim():
                continue
            if op.log.resumes > limit:
                message = N_("No progress for %(seconds)d s after %(count)d attempts: the work was given up. "
                             "Contact support if this keeps happening.")
                params = {"seconds": settings.CCEONE_RECOVERY_STALE_SECONDS, "count": op.log.resumes}
                if federation.status == Status.CREATING:
                    _fail(federation, op, N_("Recover lost work"), message, params)
                else:
                    op.fail(N_("Recover lost work"), message, params)
                counts["failed"] += 1
                continue
            op.step(N_("Resume after a lost worker"), N_(
                "No progress for %(seconds)d s: the work was sent again (attempt %(count)d of %(limit)d)."), {
                "seconds": settings.CCEONE_RECOVERY_STALE_SECONDS, "count": op.log.resumes, "limit": limit})
            op.resend()
            counts["resumed"] += 1
    return counts


def refresh_versions() -> dict:
    """Every few minutes (beat): each running federation's Karmada version, asked of its API
    server. A changed version (an upgrade by the operators or karmada-operator) is recorded
    as an upgrade in the operation log (R5.4) and shown. An unreachable one is left as it is."""
    from kubernetes.client import VersionApi

    counts = {"checked": 0, "upgraded": 0}
    for federation in Federation.objects.filter(status=Status.RUNNING, control_plane__isnull=False) \
            .select_related("control_plane"):
        try:
            version = VersionApi(system_client_for(federation, timeout=(5, 10)).client).get_code().git_version or ""
        except Exception:  # noqa: BLE001 - unreachable now: nothing to learn this time
            continue
        counts["checked"] += 1
        if not version or version[:40] == federation.karmada_version:
            continue
        with transaction.atomic():
            locked = Federation.objects.select_for_update().get(pk=federation.pk)
            if locked.karmada_version == version[:40]:
                continue
            if not locked.karmada_version:  # first reading (a federation made outside an order): no upgrade
                Federation.objects.filter(pk=locked.pk).update(karmada_version=version[:40])
                continue
            op = Operation.start(locked, OperationLog.Operation.UPGRADE)
            op.step(N_("Karmada upgraded"), N_("From %(old)s to %(new)s."),
                    {"old": locked.karmada_version or "--", "new": version})
            op.finish()
            locked.karmada_version = version[:40]
            locked.save(update_fields=["karmada_version"])
            counts["upgraded"] += 1
    return counts


# --- settings ---------------------------------------------------------------------------

@transaction.atomic
def set_deletion_protection(actor, federation: Federation, enabled: bool) -> None:
    require(actor, "federations:update", federation)
    if federation.status in (Status.UNSUBSCRIBING, Status.UNSUBSCRIBED):
        raise ValidationError(_("The federation is unsubscribed."))
    Federation.objects.filter(pk=federation.pk).update(deletion_protection=enabled)
    federation.deletion_protection = enabled
    record(actor, "federations:update", federation, details={"deletion_protection": enabled})


@transaction.atomic
def bind_eip(actor, federation: Federation) -> None:
    """R5.4: expose the federation's API server with an EIP (the cloud's EIP service is outside
    this product: `clusters.services.fake_eip`, as for clusters)."""
    federation = Federation.objects.select_for_update().get(pk=federation.pk)
    require(actor, "federations:update", federation)
    if federation.status != Status.RUNNING:
        raise ValidationError(_("The EIP is bound or unbound on a running federation only."))
    if federation.eip_address:
        raise ValidationError(_("An EIP is already bound."))
    federation.eip_address, federation.apiserver_eip = cluster_services.fake_eip(federation), True
    federation.save(update_fields=["eip_address", "apiserver_eip"])
    op = Operation.start(federation, OperationLog.Operation.CHANGE)
    op.step(N_("Bind EIP"), federation.eip_address)
    op.finish()
    record(actor, "federations:update", federation, details={"eip": federation.eip_address})


@transaction.atomic
def unbind_eip(actor, federation: Federation) -> None:
    federation = Federation.objects.select_for_update().get(pk=federation.pk)
    require(actor, "federations:update", federation)
    if federation.status != Status.RUNNING:
        raise ValidationError(_("The EIP is bound or unbound on a running federation only."))
    if not federation.eip_address:
        raise ValidationError(_("No EIP is bound."))
    previous = federation.eip_address
    federation.eip_address, federation.apiserver_eip = None, False
    federation.save(update_fields=["eip_address", "apiserver_eip"])
    op = Operation.start(federation, OperationLog.Operation.CHANGE)
    op.step(N_("Release EIP"), previous)
    op.finish()
    record(actor, "federations:update", federation, details={"eip": None, "previous_eip": previous})


def fleet_errors(actor, federation: Federation | None, fleet: Fleet) -> list[str]:
    """Why `fleet` cannot join (a federation, or the one being ordered): it must be the
    account's, one the actor may change, and in no other federation (R4.5)."""
    account_id = federation.account_id if federation else actor.account_id
    if fleet.account_id != account_id:
        return [_("Choose one of your fleets.")]
    if not can(actor, "fleets:update", fleet):
        return [_("You may not change fleet %(name)s, so it cannot join a federation.") % {"name": fleet.name}]
    if Federation.objects.filter(fleet=fleet).exclude(pk=getattr(federation, "pk", None)).exists():
        return [_("Fleet %(name)s is already in a federation: a fleet joins at most one.") % {"name": fleet.name}]
    return []


def set_fleet(actor, federation: Federation, fleet: Fleet | None) -> None:
    """A fleet joins the federation (it takes at most one), or the federation's fleet leaves
    (R4.5, R5.2). Joining the fleet's clusters as Karmada members follows this (issue #14 item 4)."""
    with transaction.atomic():
        federation = Federation.objects.select_for_update().get(pk=federation.pk)
        require(actor, "federations:update", federation)
        if federation.status not in (Status.RUNNING, Status.FAILED, Status.CHANGING):
            raise ValidationError(_("A fleet joins or leaves a running federation only."))
        previous = federation.fleet
        if fleet is None:
            if previous is None:
                raise ValidationError(_("The federation has no fleet."))
            require(actor, "fleets:update", previous)
            federation.fleet = None
        else:
            if previous is not None:
                raise ValidationError(_("The federation already has fleet %(name)s: a federation takes at most one.")
                                      % {"name": previous.name})
            errors = fleet_errors(actor, federation, fleet)
            if errors:
                raise ValidationError({"fleet": errors})
            federation.fleet = fleet
        try:
            with transaction.atomic():
                federation.save(update_fields=["fleet"])
        except IntegrityError:
            raise ValidationError({"fleet": _("Fleet %(name)s is already in a federation: a fleet joins at most "
                                              "one.") % {"name": fleet.name}}) from None
        op = Operation.start(federation, OperationLog.Operation.CHANGE)
        if fleet is not None:
            op.step(N_("Fleet joined"), N_("Fleet %(name)s: its running clusters join Karmada as members."),
                    {"name": fleet.name})
        else:
            op.step(N_("Fleet left"), N_("Fleet %(name)s: its clusters leave Karmada once it has taken its "
                                         "workloads out of them."), {"name": previous.name})
        op.finish()
        record(actor, "federations:update", federation, details={
            "fleet": fleet.name if fleet else None, "previous_fleet": previous.name if previous else None})
        signals.members_stale.send(Federation, federation=federation)


# --- unsubscribe (R5.3) ----------------------------------------------------------------

def unsubscribe_checks(federation: Federation) -> list[tuple[str, bool, str]]:
    """(label, passed, message) for each condition unsubscribing needs, as the page lists them."""
    ordering = federation.status == Status.CREATING
    fleet = federation.fleet
    members = federation.members.count()
    return [
        (_("The federation is not being ordered"), not ordering,
         _("Wait until the order is complete.") if ordering else ""),
        (_("Deletion protection is off"), not federation.deletion_protection,
         _("Turn deletion protection off first.") if federation.deletion_protection else ""),
        (_("The federation has no member fleet or clusters"), fleet is None and not members,
         _("Remove fleet %(name)s from the federation first.") % {"name": fleet.name} if fleet else
         _("Wait until its %(count)d member clusters have left.") % {"count": members} if members else ""),
    ]


def unsubscribe(actor, federation: Federation) -> None:
    with transaction.atomic():
        federation = Federation.objects.select_for_update().get(pk=federation.pk)
        require(actor, "federations:delete", federation)
        if federation.status in (Status.UNSUBSCRIBING, Status.UNSUBSCRIBED):
            raise ValidationError(_("The federation is already unsubscribed."))
        failed = [message for _label, passed, message in unsubscribe_checks(federation) if not passed]
        if failed:
            raise ValidationError(failed)
        op = Operation.start(federation, OperationLog.Operation.UNSUBSCRIBE)
        previous = federation.status
        change_status(federation, Status.UNSUBSCRIBING, N_("unsubscribed"), audit=False)  # federations:delete
        op.step(N_("Unsubscribe accepted"), N_("Submitted by %(user)s."), {"user": actor.get_username()})
        record(actor, "federations:delete", federation, details={"previous_status": previous})
        signals.federation_unsubscribed.send(Federation, operation=op, federation=federation)


def destroy(federation_id: int) -> None:
    """Give the control plane back (its credentials stop being the federation's), release what
    the order created, end billing. Idempotent."""
    with transaction.atomic():
        federation = Federation.objects.select_for_update().filter(pk=federation_id).first()
        if federation is None or federation.status != Status.UNSUBSCRIBING:
            return
        op = _op(federation, OperationLog.Operation.UNSUBSCRIBE)
        provisioners.get(federation.provisioner).release(federation, op)
        if federation.apiserver_spec_id:
            op.step(N_("Release access endpoint"), str(federation.apiserver_spec))
        if federation.eip_address:
            op.step(N_("Release EIP"), federation.eip_address)
            federation.eip_address = None
        group = federation.security_group
        federation.security_group = None
        federation.unsubscribed_at = timezone.now()
        federation.save(update_fields=["eip_address", "security_group", "unsubscribed_at"])
        if group is not None and group.auto_created and not Federation.objects.filter(security_group=group).exists() \
                and not RegisteredCluster.objects.filter(security_group=group).exists():
            op.step(N_("Delete security group"), group.name)
            group.delete()
        change_status(federation, Status.UNSUBSCRIBED, N_("control plane released"), audit=False,
                      at=federation.unsubscribed_at)
        op.step(N_("Stop billing"), timezone.localtime(federation.unsubscribed_at).strftime("%Y-%m-%d %H:%M:%S"))
        op.finish()

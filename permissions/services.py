"""Kubernetes-permission operations (R2.3-R2.6): custom permissions, their associations
with users on clusters and fleets, and the sync of each cluster's RBAC.

Each checks permission and invariants, writes in one transaction, audits, and asks for
the affected clusters' RBAC to be synced once the transaction commits. Pages and the API
call these and nothing else writes.
"""
import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from cceone.audit.services import record
from cceone.iam.access import can, require, restrict
from clusters.models import RegisteredCluster
from fleets.models import Fleet
from fleets.services import GONE, NAME_RE, NAME_RULE

from . import rbac
from .effective import check_escalation
from .models import CustomPermission, PermissionBinding
from .tasks import request_sync

NAMESPACE_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


# --- syncing ------------------------------------------------------------------------------------

def effective_clusters(target) -> list[RegisteredCluster]:
    """The clusters whose RBAC a change to the target's bindings alters."""
    if isinstance(target, Fleet):
        return list(target.clusters.exclude(status__in=GONE))
    return [] if target.fleet_id else [target]


def retry_sync(actor, cluster: RegisteredCluster) -> None:
    require(actor, "permissions:update")
    require(actor, "clusters:get", cluster)
    if cluster.status in GONE:
        raise ValidationError(_("The cluster is unsubscribed."))
    with transaction.atomic():
        request_sync([cluster])
        record(actor, "permissions:sync-retry", cluster)


# --- custom permissions -----------------------------------------------------------------------------

def clean_rules(rules) -> list[dict]:
    """Validated rules: verbs (the standard seven and user-added ones) and resources ("*" or a list)."""
    if not rules:
        raise ValidationError({"rules": _("Add at least one rule.")})
    cleaned = []
    for index, rule in enumerate(rules, start=1):
        verbs = sorted({str(v).strip().lower() for v in rule.get("verbs") or [] if str(v).strip()})
        bad = [v for v in verbs if not rbac.validate_verb(v)]
        if not verbs or bad:
            raise ValidationError({"rules": _("Rule %(n)d: choose at least one operation; invalid: %(bad)s")
                                   % {"n": index, "bad": ", ".join(bad) or "-"}})
        resources = rule.get("resources")
        if resources != "*":
            resources = sorted({str(r).strip() for r in resources or [] if str(r).strip()})
            bad = [r for r in resources if not rbac.validate_resource(r)]
            if not resources or bad:
                raise ValidationError({"rules": _("Rule %(n)d: choose all resources or list some; invalid: "
                                                  "%(bad)s") % {"n": index, "bad": ", ".join(bad) or "-"}})
        cleaned.append({"verbs": verbs, "resources": resources})
    return cleaned


def save_permission(actor, permission: CustomPermission | None, *, name, description="", rules) -> CustomPermission:
    creating = permission is None
    require(actor, "permissions:create" if creating else "permissions:update", permission)
    name = (name or "").strip()
    if not NAME_RE.match(name):
        raise ValidationError({"name": NAME_RULE})
    if name in rbac.Preset.values:
        raise ValidationError({"name": _("This name is reserved for a preset permission.")})
    rules = clean_rules(rules)
    account = actor.account
    if CustomPermission.objects.filter(account=account, name=name).exclude(pk=getattr(permission, "pk", None)).exists():
        raise ValidationError({"name": _("A permission named “%(name)s” already exists.") % {"name": name}})
    with transaction.atomic():
        if creating:
            permission = CustomPermission(account=account, creator=actor)
        else:
            permission = CustomPermission.objects.select_for_update().get(pk=permission.pk)
        affected = []
        if not creating and permission.rules != rules:
            # Changing a permission changes every association of it: the actor must hold the
            # new rules wherever it is associated (judged by what they hold before the change).
            new = rbac.custom_rules(rules)
            for binding in permission.bindings.select_related("cluster", "fleet"):
                check_escalation(actor, binding.target, None if binding.all_namespaces else binding.namespaces,
                                 new, name)
                affected += effective_clusters(binding.target)
        permission.name, permission.description, permission.rules = name, description, rules
        permission.save()
        record(actor, "permissions:create" if creating else "permissions:update", permission,
               details={"rules": rules, "description": description})
        request_sync({c.pk: c for c in affected}.values())
    return permission


@transaction.atomic
def delete_permission(actor, permission: CustomPermission) -> None:
    require(actor, "permissions:delete", permission)
    uses = permission.bindings.count()
    if uses:
        raise ValidationError(_("“%(name)s” is associated %(count)d time(s); remove those associations first.")
                              % {"name": permission.name, "count": uses})
    record(actor, "permissions:delete", permission)
    permission.delete()


# --- associations ------------------------------------------------------------------------------------

def clean_namespaces(all_namespaces: bool, namespaces) -> list[str]:
    if all_namespaces:
        return []
    if isinstance(namespaces, str):
        namespaces = re.split(r"[\s,]+", namespaces)
    names = sorted({n.strip() for n in namespaces or [] if n and n.strip()})
    bad = [n for n in names if not NAMESPACE_RE.match(n)]
    if bad:
        raise ValidationError({"namespaces": _("Not a valid namespace name: %(names)s") % {"names": ", ".join(bad)}})
    if not names:
        raise ValidationError({"namespaces": _("Name at least one namespace, or choose all namespaces.")})
    return names


def association_target(*, cluster: RegisteredCluster | None = None, fleet: Fleet | None = None):
    """An association is on a cluster or on a fleet: exactly one of them."""
    if bool(cluster) == bool(fleet):
        raise ValidationError({"cluster": _("Give either cluster or fleet.")})
    return cluster or fleet


def chosen_permission(preset: str | None, permission: CustomPermission | None,
                      binding: PermissionBinding | None = None) -> tuple[str, CustomPermission | None]:
    """What an association grants, a preset or a custom permission: naming one replaces the
    other; naming neither keeps what the association grants (a new one then grants nothing,
    which `_check_association` refuses); naming both is refused there too."""
    preset = preset or ""
    if preset and permission is None:
        return preset, None
    if permission is not None and not preset:
        return "", permission
    if not preset and binding is not None:
        return binding.preset, binding.permission
    return preset, permission


def _target_action(target) -> str:
    return "fleets:get" if isinstance(target, Fleet) else "clusters:get"


def _check_association(actor, target, user, all_namespaces, namespaces, preset, permission, exclude=None):
    require(actor, _target_action(target), target)
    if isinstance(target, RegisteredCluster) and target.status in GONE:
        raise ValidationError(_("The cluster is unsubscribed."))
    if user is None or user.account_id != target.account_id:
        raise ValidationError({"user": _("Unknown user.")})
    if user.is_main_account:
        raise ValidationError({"user": _("The main account always holds the administrator permission.")})
    if bool(preset) == bool(permission):
        raise ValidationError({"permission": _("Choose one permission.")})
    if preset and preset not in rbac.Preset.values:
        raise ValidationError({"permission": _("Unknown permission.")})
    if permission is not None and permission.account_id != target.account_id:
        raise ValidationError({"permission": _("Unknown permission.")})
    namespaces = clean_namespaces(all_namespaces, namespaces)
    rules = rbac.preset_rules(preset) if preset else permission.policy_rules()
    name = str(rbac.Preset(preset).label) if preset else permission.name
    check_escalation(actor, target, None if all_namespaces else namespaces, rules, name)
    field = "fleet" if isinstance(target, Fleet) else "cluster"
    same = PermissionBinding.objects.filter(**{field: target}, user=user, preset=preset or "",
                                            permission=permission, all_namespaces=all_namespaces,
                                            namespaces=namespaces)
    if exclude is not None:
        same = same.exclude(pk=exclude.pk)
    if same.exists():
        raise ValidationError(_("%(user)s already holds this permission in these namespaces.")
                              % {"user": user.username})
    return namespaces


def _details(binding) -> dict:
    return {"user": binding.user.username, "user_id": binding.user_id, "permission": binding.permission_name,
            "type": "preset" if binding.preset else "custom",
            "namespaces": None if binding.all_namespaces else binding.namespaces}


@transaction.atomic
def associate(actor, target, *, user, all_namespaces=True, namespaces=(), preset="",
              permission: CustomPermission | None = None) -> PermissionBinding:
    """Associate a permission with a user in some namespaces of a cluster or a fleet (R2.4)."""
    require(actor, "permissions:create")
    namespaces = _check_association(actor, target, user, all_namespaces, namespaces, preset, permission)
    binding = PermissionBinding.objects.create(
        account_id=target.account_id, user=user, all_namespaces=all_namespaces, namespaces=namespaces,
        preset=preset or "", permission=permission, creator=actor,
        **({"fleet": target} if isinstance(target, Fleet) else {"cluster": target}))
    record(actor, "permissions:associate", target, details=_details(binding))
    request_sync(effective_clusters(target))
    return binding


@transaction.atomic
def update_association(actor, binding: PermissionBinding, *, all_namespaces, namespaces=(), preset=None,
                       permission=None, user=None, cluster=None, fleet=None) -> PermissionBinding:
    """Change an association's namespaces or permission (see `chosen_permission`). Its user,
    cluster and fleet stay: given, they must be its own."""
    require(actor, "permissions:update")
    target = binding.target
    if any(given is not None and given.pk != getattr(binding, f"{field}_id")
           for field, given in (("user", user), ("cluster", cluster), ("fleet", fleet))):
        raise ValidationError({"detail": _("An association's cluster, fleet and user cannot change; "
                                           "remove it and associate again.")})
    preset, permission = chosen_permission(preset, permission, binding)
    namespaces = _check_association(actor, target, binding.user, all_namespaces, namespaces, preset, permission,
                                     exclude=binding)
    before = _details(binding)
    binding.all_namespaces, binding.namespaces = all_namespaces, namespaces
    binding.preset, binding.permission = preset or "", permission
    binding.save()
    record(actor, "permissions:association-update", target, details={"before": before, "after": _details(binding)})
    request_sync(effective_clusters(target))
    return binding


@transaction.atomic
def dissociate(actor, binding: PermissionBinding) -> None:
    require(actor, "permissions:delete")
    target = binding.target
    require(actor, _target_action(target), target)
    record(actor, "permissions:dissociate", target, details=_details(binding))
    binding.delete()
    request_sync(effective_clusters(target))


def access_changed(account) -> None:
    """IAM changed what some users of the account may do (iam.signals.access_changed): a
    user who lost a group, a policy or their account loses their RBAC now, and one who gained
    read access gets the restricted fallback. Every live cluster of the account, since which
    clusters a policy reaches is the IAM side's business and a sync of an unchanged cluster
    writes nothing."""
    request_sync(RegisteredCluster.objects.filter(account=account).exclude(status__in=GONE))


def visible_bindings(user):
    """The associations on clusters and fleets the user may see."""
    if not can(user, "permissions:list"):
        return PermissionBinding.objects.none()
    clusters = restrict(RegisteredCluster.objects.all(), user, "clusters:get").values("pk")
    fleets = restrict(Fleet.objects.all(), user, "fleets:get").values("pk")
    return (PermissionBinding.objects.filter(account_id=user.account_id)
            .filter(Q(cluster__in=clusters) | Q(fleet__in=fleets))
            .select_related("user", "permission", "cluster", "fleet"))

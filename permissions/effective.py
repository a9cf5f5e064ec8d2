"""Who holds which Kubernetes permission where (R2.3-R2.5).

A cluster's bindings are its fleet's while it is in one, else its own. On top of them:
the main account holds `admin`; the cluster's creator holds `admin`; any other
sub-account that may read the cluster (IAM `clusters:get`) and has no binding holds
`restricted`; a sub-account without IAM read on the cluster holds nothing, bound or not.
"""
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from cceone.iam.access import can
from cceone.iam.models import User
from cceone.kube.gateway import identity_for
from fleets.models import Fleet

from .models import CustomPermission, PermissionBinding
from .rbac import Preset, covers, preset_rules

ALL = None  # namespaces: every namespace (a ClusterRoleBinding)


@dataclass(frozen=True)
class Grant:
    user: User
    role: str  # the ClusterRole: cceone:admin, cceone:custom:12
    namespaces: tuple[str, ...] | None  # None: all namespaces
    permission: CustomPermission | None = None
    implicit: bool = False

    @property
    def subject(self) -> str:
        return identity_for(self.user).username


def _preset(user, preset, implicit=True) -> Grant:
    return Grant(user, f"cceone:{preset}", ALL, implicit=implicit)


def source_of(cluster):
    """The object whose bindings apply to the cluster: its fleet, or itself."""
    return cluster.fleet if cluster.fleet_id else cluster


def bindings_of(target):
    field = "fleet" if isinstance(target, Fleet) else "cluster"
    return PermissionBinding.objects.filter(**{field: target}).select_related("user", "permission")


_OWN = object()


def grants_for(cluster, *, source=_OWN, read_action: str = "clusters:get") -> list[Grant]:
    """The cluster's effective grants, users in a stable order. Another target that takes a
    fleet's permissions (a federation's Karmada API server, R2.3) passes that fleet as `source`
    (None: no associations) and its own IAM read action."""
    explicit: dict[int, list[PermissionBinding]] = {}
    source = source_of(cluster) if source is _OWN else source
    for binding in bindings_of(source) if source is not None else ():
        explicit.setdefault(binding.user_id, []).append(binding)
    users = User.objects.filter(account_id=cluster.account_id, is_active=True).select_related("account")
    out = []
    for user in users.order_by("username"):
        if user.is_main_account:
            out.append(_preset(user, Preset.ADMIN))
        elif not can(user, read_action, cluster):
            continue  # R2.3: a grant needs IAM read on the instance
        elif user.pk == cluster.creator_id:
            out.append(_preset(user, Preset.ADMIN))
        elif user.pk in explicit:
            for binding in explicit[user.pk]:
                out.append(Grant(user, binding.cluster_role,
                                 ALL if binding.all_namespaces else tuple(binding.namespaces),
                                 binding.permission))
        else:
            out.append(_preset(user, Preset.RESTRICTED))
    return out


def holdings(user, target) -> list[tuple[tuple[str, ...] | None, list[dict]]]:
    """What `user` holds on `target` (a cluster — by its own bindings — or a fleet), as
    (namespaces or None for all, rules): the yardstick of the escalation check."""
    if not user.account_id or user.account_id != target.account_id or not user.is_active:
        return []
    if user.is_main_account:
        return [(ALL, preset_rules(Preset.ADMIN))]
    is_fleet = isinstance(target, Fleet)
    if not can(user, "fleets:get" if is_fleet else "clusters:get", target):
        return []
    if not is_fleet and target.creator_id == user.pk:
        return [(ALL, preset_rules(Preset.ADMIN))]
    own = [b for b in bindings_of(target) if b.user_id == user.pk]
    if own:
        return [(ALL if b.all_namespaces else tuple(b.namespaces), b.policy_rules()) for b in own]
    return [(ALL, preset_rules(Preset.RESTRICTED))]


def check_escalation(actor, target, namespaces, rules, permission_name: str) -> None:
    """Refuse to grant in `namespaces` (None: all) anything the actor does not hold there."""
    held = holdings(actor, target)
    scopes = [ALL] if namespaces is ALL else list(namespaces)
    for namespace in scopes:
        owner = [rule for scope, rs in held if scope is ALL or (namespace is not ALL and namespace in scope)
                 for rule in rs]
        if covers(owner, rules):
            continue
        if namespace is ALL:
            message = _("You cannot grant “%(permission)s” in all namespaces of %(target)s: it exceeds the "
                        "permissions you hold there yourself.")
        else:
            message = _("You cannot grant “%(permission)s” in namespace %(namespace)s of %(target)s: it exceeds "
                        "the permissions you hold there yourself.")
        raise ValidationError(message % {"permission": permission_name, "namespace": namespace,
                                         "target": target.name})

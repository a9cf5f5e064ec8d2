"""The one place that answers "may this user do this?".

`can(user, action, obj=None)` decides; `require()` decides and records a denial in the
audit log; `restrict(queryset, user, action)` narrows a queryset to what the user may
see. A main account may do everything in its account; a sub-account what its groups'
policies grant. Policies reaching the whole account are evaluated from policy data;
policies limited to instances or enterprise projects are materialised as django-guardian
object permissions (see `mirror`), so list pages filter with one indexed subquery.
"""
from dataclasses import dataclass, field

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, ExpressionWrapper, Model, Q, QuerySet, Subquery
from django.http import Http404
from django.utils.translation import gettext as _

from . import actions, anchors
from .models import Policy


@dataclass
class Grants:
    account_wide: set[str] = field(default_factory=set)
    scoped: set[str] = field(default_factory=set)
    scoped_policies: list[Policy] = field(default_factory=list)


def grants(user) -> Grants:
    """What the user's policies grant, cached on the user object for the request."""
    cached = getattr(user, "_iam_grants", None)
    if cached is not None:
        return cached
    result = Grants()
    policies = (
        Policy.objects.filter(groups__members=user, groups__account_id=user.account_id)
        .distinct()
        .prefetch_related("projects", "iam_projects")
    )
    for policy in policies:
        granted = policy.granted_actions()
        if policy.scope == Policy.Scope.ACCOUNT:
            result.account_wide |= granted
        else:
            # A scope reaches instances only: `iam:*`, billing and the like can never come
            # from it, even from a policy saved before the service refused such patterns.
            result.scoped |= granted & anchors.instance_actions()
            result.scoped_policies.append(policy)
    user._iam_grants = result
    return result


def forget(user) -> None:
    """Drop the cached grants after the user's policies changed."""
    user.__dict__.pop("_iam_grants", None)


def _account_id_of(obj):
    if hasattr(obj, "account_id"):
        return obj.account_id
    anchor_obj = _anchor_of(obj)
    return getattr(anchor_obj, "account_id", None)


def _anchor_of(obj):
    path = getattr(type(obj), "iam_anchor_path", "")
    for part in path.split("__") if path else []:
        obj = getattr(obj, part)
    return obj if anchors.for_model(type(obj)) else None


def _check(action: str) -> None:
    if action not in actions.ACTIONS:
        raise ValueError(f"unknown IAM action {action!r}: add it to cceone.iam.actions")


def can(user, action: str, obj: Model | None = None) -> bool:
    _check(action)
    if user is None or not user.is_authenticated or not user.is_active or not user.account_id:
        return False
    if obj is not None and _account_id_of(obj) != user.account_id:
        return False
    if user.is_main_account:
        return True
    g = grants(user)
    if action in g.account_wide:
        return True
    if action not in g.scoped:
        return False
    if obj is None:
        return _scoped_without_object(g, action)
    anchor_obj = _anchor_of(obj)
    if anchor_obj is None:
        return False  # scoped policies reach instances, not account-level objects
    anchor = anchors.for_model(type(anchor_obj))
    if anchor_obj.pk is None:
        # Not saved yet (an order): only a project-scoped policy can reach it.
        return any(action in p.granted_actions() and reaches(p, anchor_obj)
                   for p in matching_order(g.scoped_policies) if p.scope != Policy.Scope.INSTANCES)
    return anchor.user_perm_model.objects.filter(
        user=user, content_object=anchor_obj, permission__codename=anchors.codename(action)
    ).exists()


def _scoped_without_object(g: Grants, action: str) -> bool:
    """A scoped grant asked about no instance in particular: it opens the list of the
    instances it reaches, and ordering only when the policy names enterprise projects (the
    order itself is then checked against its project). Never anything else: a grant on one
    cluster says nothing about changing, creating or deleting "something"."""
    verb = actions.ACTIONS[action].verb
    if verb == "list":
        return True
    if verb == "create":
        return any(p.scope in PROJECT_SCOPES and action in p.granted_actions() for p in g.scoped_policies)
    return False


# A policy scoped to projects can reach an object that is still being ordered.
PROJECT_SCOPES = (Policy.Scope.IAM_PROJECTS, Policy.Scope.PROJECTS)


def matching_order(policies) -> list[Policy]:
    """Scoped policies in the order IAM matches them (§4.5.1.2): where IAM projects and
    enterprise projects coexist, the IAM project's policies first. Every policy here only
    allows, so the order never changes an answer; it decides which policy is named as the
    one that matched, and keeps the rule in one place should denies ever be added."""
    rank = {Policy.Scope.IAM_PROJECTS: 0, Policy.Scope.PROJECTS: 1, Policy.Scope.INSTANCES: 2}
    return sorted(policies, key=lambda p: rank.get(p.scope, 3))


def reaches(policy: Policy, obj) -> bool:
    """Whether a scoped policy reaches the anchor object `obj` (saved or being ordered)."""
    if policy.scope == Policy.Scope.INSTANCES:
        anchor = anchors.for_model(type(obj))
        return obj.pk is not None and f"{anchor.type_key}:{obj.pk}" in policy.instances
    if policy.scope == Policy.Scope.IAM_PROJECTS:
        region_id = getattr(obj, "region_id", None)
        return region_id is not None and any(r.pk == region_id for r in policy.iam_projects.all())
    return any(project.pk == obj.enterprise_project_id for project in policy.projects.all())


def reached(policy: Policy, objects: QuerySet) -> QuerySet:
    """The anchor objects of `objects` (one anchor model, one account) a scoped policy reaches."""
    if policy.scope == Policy.Scope.INSTANCES:
        anchor = anchors.for_model(objects.model)
        ids = [int(ref.split(":", 1)[1]) for ref in policy.instances
               if ref.startswith(anchor.type_key + ":") and ref.split(":", 1)[1].isdigit()]
        return objects.filter(pk__in=ids)
    if policy.scope == Policy.Scope.IAM_PROJECTS:
        # Instances without a region (fleets are global) belong to no IAM project.
        if not any(f.name == "region" for f in objects.model._meta.get_fields()):
            return objects.none()
        return objects.filter(region__in=policy.iam_projects.all())
    return objects.filter(enterprise_project__in=policy.projects.all())


def require(user, action: str, obj: Model | None = None) -> None:
    """Raise PermissionDenied, with the reason in the user's language, and audit it."""
    if can(user, action, obj):
        return
    from cceone.audit.models import AuditEvent
    from cceone.audit.services import record

    target = obj if isinstance(obj, Model) and obj.pk is not None else None
    record(user if user is not None and user.is_authenticated else None, action, target,
           result=AuditEvent.Result.DENIED,
           account=getattr(user, "account", None) if user is not None and user.is_authenticated else None)
    raise PermissionDenied(
        _("You do not have permission to perform this action (%(action)s).") % {"action": action}
    )


def in_account(queryset: QuerySet, user) -> QuerySet:
    """The part of `queryset` that belongs to the user's tenant: what exists for them at all.

    Look objects up here, then `require()` the action on the one found: another tenant's
    object is then a 404, and a forbidden one in the user's own account a 403 (audited)."""
    if user is None or not user.is_authenticated or not user.account_id:
        return queryset.none()
    path = getattr(queryset.model, "iam_anchor_path", "")
    return queryset.filter(**{f"{path}__account_id" if path else "account_id": user.account_id})


def get_or_deny(queryset: QuerySet, user, pk, *actions: str, **filters) -> Model:
    """The one object lookup: the object `pk` (and `filters`) of `queryset` in the user's
    account, else 404 — another tenant's object is indistinguishable from a missing one;
    then each of `actions` is required on it, else 403 (audited by `require`)."""
    if not str(pk).isdigit():
        raise Http404
    obj = in_account(queryset, user).filter(pk=pk, **filters).first()
    if obj is None:
        raise Http404
    for action in actions:
        require(user, action, obj)
    return obj


def restrict(queryset: QuerySet, user, action: str) -> QuerySet:
    """The part of `queryset` the user may `action`."""
    _check(action)
    if user is None or not user.is_authenticated or not user.is_active or not user.account_id:
        return queryset.none()
    model = queryset.model
    path = getattr(model, "iam_anchor_path", "")
    account_field = f"{path}__account_id" if path else "account_id"
    queryset = queryset.filter(**{account_field: user.account_id})
    if user.is_main_account:
        return queryset
    g = grants(user)
    if action in g.account_wide:
        return queryset
    if action not in g.scoped:
        return queryset.none()
    anchor_model = model
    for part in path.split("__") if path else []:
        anchor_model = anchor_model._meta.get_field(part).related_model
    anchor = anchors.for_model(anchor_model)
    if anchor is None:
        return queryset.none()
    reachable = anchor.user_perm_model.objects.filter(
        user=user, permission_id=_permission_id(anchor, action)
    ).values("content_object_id")
    return queryset.filter(**{f"{path}__pk__in" if path else "pk__in": reachable})


def annotate_can(queryset: QuerySet, user, **actions: str) -> QuerySet:
    """Each row's `can(user, action, row)` as a boolean column named by the keyword
    (`annotate_can(fleets, user, updatable="fleets:update")`): a list shows per-row links
    from the query it already makes, not from a query per row or a set of every id."""
    for name, action in actions.items():
        allowed = restrict(queryset.model.objects.all(), user, action).values("pk")
        queryset = queryset.annotate(**{name: ExpressionWrapper(Q(pk__in=allowed), output_field=BooleanField())})
    return queryset


def _permission_id(anchor, action: str) -> Subquery:
    """The permission's id as a scalar subquery, not a join on its codename: the rows are
    then found by the (user, permission, object) unique index alone, and the planner can
    estimate how many there are (with a join PostgreSQL guessed one row in hundreds and
    sorted thousands of clusters through nested loops)."""
    meta = anchor.model._meta
    return Subquery(Permission.objects.filter(
        content_type__app_label=meta.app_label, content_type__model=meta.model_name,
        codename=anchors.codename(action)).order_by().values("pk")[:1])

"""Keeps django-guardian object permissions equal to what scoped policies grant.

Only grants limited to listed instances or enterprise projects are materialised:
account-wide grants are one row of policy data, and copying them onto every object
would grow as users × objects (the reason Pulpcore dropped per-object rows).
Recompute when a policy, a group's members or policies, or an anchor's enterprise
project changes; every call converges to the same rows, so it is safe to repeat.
"""
from collections import defaultdict

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from . import access, anchors
from .models import User


def _desired(user) -> dict[anchors.Anchor, set[tuple[int, str]]]:
    access.forget(user)
    g = access.grants(user)
    wanted: dict[anchors.Anchor, set[tuple[int, str]]] = defaultdict(set)
    for policy in g.scoped_policies:
        granted = policy.granted_actions()
        for anchor in anchors.all_anchors():
            acts = granted & anchor.actions
            if not acts:
                continue
            base = anchor.model.objects.filter(account_id=user.account_id)
            for pk in access.reached(policy, base).values_list("pk", flat=True):
                wanted[anchor].update((pk, anchors.codename(a)) for a in acts)
    return wanted


def sync_user(user: User) -> None:
    if not user.account_id or user.is_main_account:
        desired = {}
    else:
        desired = _desired(user)
    with transaction.atomic():
        for anchor in anchors.all_anchors():
            _reconcile(anchor, anchor.user_perm_model.objects.filter(user=user), desired.get(anchor, set()),
                       "content_object_id",
                       lambda oid, perm, anchor=anchor: anchor.user_perm_model(user=user, content_object_id=oid,
                                                                               permission_id=perm))
    access.forget(user)


def _reconcile(anchor, rows, want: set, key: str, build) -> None:
    """Make an anchor's object-permission `rows` hold exactly `want`, a set of (value of
    `key`, codename): delete the others, create the missing ones with `build(value, permission_id)`."""
    have = {(value, code): pk for pk, value, code in rows.values_list("pk", key, "permission__codename")}
    extra = [pk for pair, pk in have.items() if pair not in want]
    if extra:
        anchor.user_perm_model.objects.filter(pk__in=extra).delete()
    missing = want - have.keys()
    if missing:
        ct = ContentType.objects.get_for_model(anchor.model)
        perm_ids = dict(Permission.objects.filter(content_type=ct).values_list("codename", "pk"))
        anchor.user_perm_model.objects.bulk_create([build(value, perm_ids[code]) for value, code in missing],
                                                   ignore_conflicts=True)


def sync_account(account) -> None:
    for user in User.objects.filter(account=account).select_related("account"):
        sync_user(user)


def sync_anchor(obj) -> None:
    """One anchor was created or moved to another enterprise project: recompute its rows only
    (which users a scoped policy gives what on it), not the whole account's. Called by the
    service that made the change, inside its transaction."""
    anchor = anchors.for_model(type(obj))
    want: set[tuple[int, str]] = set()
    for user in User.objects.filter(account_id=obj.account_id).select_related("account"):
        if user.is_main_account:
            continue
        access.forget(user)
        for policy in access.grants(user).scoped_policies:
            acts = policy.granted_actions() & anchor.actions
            if not acts:
                continue
            if access.reaches(policy, obj):
                want.update((user.pk, anchors.codename(a)) for a in acts)
        access.forget(user)
    with transaction.atomic():
        _reconcile(anchor, anchor.user_perm_model.objects.filter(content_object_id=obj.pk), want, "user_id",
                   lambda uid, perm: anchor.user_perm_model(user_id=uid, content_object_id=obj.pk, permission_id=perm))

"""Fail closed: every route declares the IAM action(s) it checks, or opts out by name.

A page or API operation that declares nothing is refused (403) instead of served: a new
view someone forgot to protect is then an obvious error, not a silent hole. Declaring is
not checking — the view still calls `access.require` with its object; the declaration says
which gate it is, and tests/iam/test_routes.py proves each route against every persona.

- Function views: `@iam_page("clusters:get")` (or several actions).
- Class-based views: `iam_declared_actions()` (the generic console views derive it from
  their `view_action`/`create_action`/… attributes).
- API viewsets: `iam_actions`, a map of DRF action → IAM action (see `api_permissions`).
- Opt-outs, with the reason: `AUTHENTICATED_ONLY` as the action (any signed-in user; the
  view shows only the user's own things), or `iam_exempt(reason)` for routes outside
  tenant IAM (public pages, the operators' admin site, operator-only API).
"""
from collections.abc import Callable

from . import actions

AUTHENTICATED_ONLY = "authenticated-only"

# URL namespaces outside tenant IAM, and why.
EXEMPT_NAMESPACES = {
    "admin": "the operators' Django admin: staff accounts, checked by the admin site's own permissions",
}


def _check(names) -> tuple[str, ...]:
    for name in names:
        if name != AUTHENTICATED_ONLY and name not in actions.ACTIONS:
            raise ValueError(f"unknown IAM action {name!r}: add it to cceone.iam.actions")
    if not names:
        raise ValueError("declare at least one IAM action (or AUTHENTICATED_ONLY)")
    return tuple(names)


def iam_page(*names: str) -> Callable:
    """Declare the IAM action(s) a function view checks."""
    declared = _check(names)

    def decorate(view):
        view.iam_declared_actions = declared
        return view

    return decorate


def iam_exempt(reason: str) -> Callable:
    """Opt a view out of IAM, saying why (a view function or an `as_view()` result)."""
    if not reason.strip():
        raise ValueError("an IAM opt-out needs its reason")

    def decorate(view):
        view.iam_exempt = reason
        return view

    return decorate


def page_declaration(view_func, namespaces=()) -> tuple[str, ...] | str | None:
    """The actions a page view declares, the reason it is exempt, or None (undeclared)."""
    for namespace in namespaces:
        if namespace in EXEMPT_NAMESPACES:
            return EXEMPT_NAMESPACES[namespace]
    view_class = getattr(view_func, "view_class", None) or getattr(view_func, "cls", None)
    for holder in (view_func, view_class):
        if holder is None:
            continue
        reason = getattr(holder, "iam_exempt", None)
        if reason:
            return reason
        declared = getattr(holder, "iam_declared_actions", None)
        if callable(declared):
            declared = declared()
        if declared:
            return _check(tuple(declared))
    return None


def is_api_view(view_func) -> bool:
    """DRF views: IAMPermission judges them per operation (see `api_permissions`)."""
    from rest_framework.views import APIView

    view_class = getattr(view_func, "cls", None)
    return isinstance(view_class, type) and issubclass(view_class, APIView)

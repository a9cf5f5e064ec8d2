import logging

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, permissions

from .access import require
from .routes import AUTHENTICATED_ONLY

log = logging.getLogger(__name__)


class IAMPermission(permissions.BasePermission):
    """Every API call is an IAM action: the viewset's `iam_actions` maps its DRF action
    (list, retrieve, create …) to a catalogue action, checked (and audited when denied)
    through `iam.require` — the same check the pages use.

    Fail closed: an operation missing from the map is refused. A signed-in-only operation
    says so with `AUTHENTICATED_ONLY` (see `cceone.iam.routes`); views outside tenant IAM
    set their own `permission_classes` and `iam_exempt`.

    A viewset whose routes all live under one object named in the URL (a cluster's
    Kubernetes objects) gives it with `iam_object()`: every operation is then checked on
    that object, so a policy limited to the object allows its collection routes too.
    `iam_object()` itself answers 404 for an object outside the user's account."""

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        if not hasattr(view, request.method.lower()):
            return True  # no such operation: DRF answers 405
        action = iam_action(view)
        if action is None:
            log.error("refused %s %s: %s declares no IAM action for it", request.method, request.path,
                      type(view).__name__)
            raise exceptions.PermissionDenied(_("This operation declares no IAM permission, so it is refused."))
        if action == AUTHENTICATED_ONLY:
            return True
        if hasattr(view, "iam_object"):
            require(request.user, action, view.iam_object())
            return True
        if getattr(view, "detail", False):
            return True  # detail: checked against the object in has_object_permission
        require(request.user, action)
        return True

    def has_object_permission(self, request, view, obj):
        action = iam_action(view)
        if action is None:
            raise exceptions.PermissionDenied(_("This operation declares no IAM permission, so it is refused."))
        if action != AUTHENTICATED_ONLY:
            require(request.user, action, obj)
        return True


def iam_action(view) -> str | None:
    mapping = getattr(view, "iam_actions", None) or {}
    return mapping.get(getattr(view, "action", None) or request_method_action(view))


def request_method_action(view) -> str:
    return {"GET": "list", "POST": "create", "PUT": "update", "PATCH": "partial_update",
            "DELETE": "destroy"}.get(view.request.method, "")

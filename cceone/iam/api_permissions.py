from rest_framework import permissions

from .access import require


class IAMPermission(permissions.BasePermission):
    """Every API call is an IAM action: the viewset's `iam_actions` maps its DRF action
    (list, retrieve, create …) to a catalogue action, checked (and audited when denied)
    through `iam.require` — the same check the pages use."""

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        action = iam_action(view)
        if action is None:
            return True  # a view without IAM actions (schema, own tokens) opts out explicitly
        if getattr(view, "detail", False):
            return True  # checked against the object in has_object_permission
        require(request.user, action)
        return True

    def has_object_permission(self, request, view, obj):
        action = iam_action(view)
        if action is not None:
            require(request.user, action, obj)
        return True


def iam_action(view) -> str | None:
    mapping = getattr(view, "iam_actions", None)
    if mapping is None:
        return None
    return mapping.get(getattr(view, "action", None) or request_method_action(view))


def request_method_action(view) -> str:
    return {"GET": "list", "POST": "create", "PUT": "update", "PATCH": "partial_update",
            "DELETE": "destroy"}.get(view.request.method, "")

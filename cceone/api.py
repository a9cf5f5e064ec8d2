"""Shared API plumbing: a viewset base whose queryset goes through `iam.restrict`."""
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers, viewsets
from rest_framework.views import exception_handler as drf_exception_handler

from cceone.iam.access import in_account, restrict


def crud_actions(service: str, read: str = "list") -> dict[str, str]:
    """The HTTP → IAM action map of a standard viewset over one service's instances."""
    return {
        "list": f"{service}:{read}", "retrieve": f"{service}:{read}",
        "create": f"{service}:create", "update": f"{service}:update",
        "partial_update": f"{service}:update", "destroy": f"{service}:delete",
    }


class RestrictedViewSet(viewsets.GenericViewSet):
    """Lists narrowed to what the user may read; one object looked up in the user's account
    and then checked (404 for another tenant's, 403 for a forbidden one); writes call services."""

    iam_actions: dict[str, str] = {}
    read_action = ""
    lookup_value_regex = r"\d+"  # ids are integers: anything else is not a route (a JSON 404)

    def get_queryset(self):
        if self.detail:
            return in_account(self.queryset.all(), self.request.user)
        return restrict(self.queryset.all(), self.request.user, self.read_action)


def as_drf_error(error: DjangoValidationError) -> serializers.ValidationError:
    if hasattr(error, "error_dict"):
        return serializers.ValidationError({k: [str(m) for e in v for m in e.messages]
                                            for k, v in error.error_dict.items()})
    return serializers.ValidationError({"detail": error.messages})


def exception_handler(error, context):
    """DRF's handler, which already answers Django's Http404 and PermissionDenied, plus the
    services' ValidationError: a 400 with its messages wherever a view lets one through."""
    if isinstance(error, DjangoValidationError):
        error = as_drf_error(error)
    return drf_exception_handler(error, context)

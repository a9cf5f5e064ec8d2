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


def form_serializer(form_class, name: str, exclude=()) -> type:
    """A serializer taking what the page's `form_class` takes, validated by that form: the
    API and the page then accept and refuse the same input with the same messages. Its
    fields (types, limits, help) document the request; `serializer.form` is the valid form.
    Fields the view fills itself (e.g. a namespace from the URL) are in `exclude` and come
    through the serializer's context as `form_data`."""
    from django import forms

    fields = {field_name: api_field(field) for field_name, field in form_class.base_fields.items()
              if field_name not in exclude}

    def validate(self, attrs):
        form = form_class(data={**attrs, **self.context.get("form_data", {})})
        if not form.is_valid():
            raise serializers.ValidationError({("detail" if field == forms.forms.NON_FIELD_ERRORS else field): list(errors)
                                               for field, errors in form.errors.items()})
        self.form = form
        return attrs

    return type(name, (serializers.Serializer,), {**fields, "validate": validate,
                                                  "__doc__": (form_class.__doc__ or "").strip() or None,
                                                  "__module__": form_class.__module__})


def api_field(field) -> serializers.Field:
    """The API's twin of one form field: same type, required-ness, limits, choices, help and
    default (the page's initial value).
    A form field may say how it is given in JSON with its own `api_field()`."""
    from django import forms

    if hasattr(field, "api_field"):
        return field.api_field()
    common = {"required": field.required, "label": str(field.label) if field.label else None,
              "help_text": str(field.help_text) if field.help_text else None}
    if field.initial is not None:  # what the page fills in is what the API assumes when not given
        common.update(required=False, default=field.initial)
    if isinstance(field, forms.BooleanField):
        return serializers.BooleanField(**{**common, "required": False})
    if isinstance(field, forms.IntegerField):
        return serializers.IntegerField(min_value=field.min_value, max_value=field.max_value,
                                        allow_null=not field.required, **common)
    if isinstance(field, forms.ChoiceField):
        return serializers.ChoiceField(choices=[(value, str(label)) for value, label in field.choices],
                                       allow_blank=not field.required, **common)
    return serializers.CharField(max_length=field.max_length if isinstance(field, forms.CharField) else None,
                                 allow_blank=not field.required, trim_whitespace=False, **common)

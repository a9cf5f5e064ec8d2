"""The OpenAPI schema says what every operation may answer, not only its success."""
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()

    class Meta:
        ref_name = "Error"


class ConsoleAutoSchema(AutoSchema):
    """Every API call is authenticated and an IAM action, so 401 and 403 are always possible;
    a path naming an object (or a page) may not exist; input may be refused with field errors."""

    def _get_paginator(self):
        # Only the standard `list` pages; extra actions answering a list answer a plain array.
        return super()._get_paginator() if getattr(self.view, "action", None) == "list" else None

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = {"401": ErrorSerializer, "403": ErrorSerializer}
        if self.method != "GET" or self._is_list_view():
            errors["400"] = OpenApiTypes.OBJECT  # {"field": ["message", …]} or {"detail": …}
        if self._get_paginator() or "{" in self.path:
            errors["404"] = ErrorSerializer
        for code, body in errors.items():
            responses.setdefault(code, self._get_response_for_code(body, code, direction=direction))
        return responses

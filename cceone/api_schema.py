"""How the API documentation (drf-spectacular) presents the operations: what every
operation may answer, not only its success, grouped by the app that owns it."""
import re

from django.apps import apps
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from rest_framework import serializers

# "(R7.5)", "(R2.4, R2.5)": the manual's requirement ids, in docstrings for the code's readers.
REQUIREMENT_IDS = re.compile(r"\s*\(R\d+(?:\.\d+)+(?:\s*,\s*R\d+(?:\.\d+)+)*\)")


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

    def get_tags(self) -> list[str]:
        # By owning app, as the console's menu groups pages, instead of all under the URL's
        # first segment (`v1`). `@extend_schema(tags=…)` still wins.
        config = apps.get_containing_app_config(type(self.view).__module__)
        return [str(config.verbose_name)] if config else super().get_tags()



def without_requirement_ids(result, generator, request, public):
    """Postprocessing hook: drop requirement ids from every description and summary."""

    def clean(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("description", "summary") and isinstance(value, str):
                    node[key] = REQUIREMENT_IDS.sub("", value)
                else:
                    clean(value)
        elif isinstance(node, list):
            for value in node:
                clean(value)

    clean(result)
    return result

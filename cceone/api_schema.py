"""How the API documentation (drf-spectacular) presents the operations to API users."""
import re

from django.apps import apps
from drf_spectacular.openapi import AutoSchema

# "(R7.5)", "(R2.4, R2.5)": the manual's requirement ids, in docstrings for the code's readers.
REQUIREMENT_IDS = re.compile(r"\s*\(R\d+(?:\.\d+)+(?:\s*,\s*R\d+(?:\.\d+)+)*\)")


class AppTaggedSchema(AutoSchema):
    """Operations grouped by the app that owns them, as the console's menu groups pages,
    instead of all under the URL's first segment (`v1`). `@extend_schema(tags=…)` still wins."""

    def get_tags(self) -> list[str]:
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

"""A check's outcome as stored on a run: English msgids with their parameters (shown in the
reader's language) and the evidence as read from the cluster."""
import json
from dataclasses import dataclass, field

from django.utils.translation import gettext

NORMAL, ABNORMAL, UNKNOWN = "normal", "abnormal", "unknown"


def shown(value) -> str:
    """A field's value as it was read: strings as they are, structures as indented JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@dataclass
class Evidence:
    field: str  # e.g. "status.containerStatuses[api].state" or "Event BackOff"
    value: object

    def as_dict(self) -> dict:
        return {"field": self.field, "value": shown(self.value)}


@dataclass
class Finding:
    message: str  # an English msgid with %(name)s parameters
    params: dict = field(default_factory=dict)
    evidence: list = field(default_factory=list)
    severity: str | None = None  # overrides the check's


def translate(message: str, params: dict | None) -> str:
    text = gettext(message) if message else ""
    try:
        return text % params if params else text
    except (KeyError, TypeError, ValueError):
        return text

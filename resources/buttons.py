"""Buttons other apps add to an object's page (e.g. operations' "Diagnose" on pods, nodes,
services and ingresses), registered from their AppConfig.ready(): this app imports none of them."""
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class ObjectButton:
    name: str  # the button's id on the page: <name>-button
    label: str
    kinds: tuple[str, ...]  # plurals it appears on
    url: Callable  # (target, kind, obj) -> the URL it opens or posts to
    allowed: Callable  # (user, target) -> whether to show it (the server checks again)
    method: str = "get"  # "post": a form button (a one-click action)
    tooltip: str = ""


_BUTTONS: list[ObjectButton] = []


def register(button: ObjectButton) -> ObjectButton:
    _BUTTONS[:] = [b for b in _BUTTONS if b.name != button.name] + [button]
    return button


def for_object(user, target, kind, obj) -> list[dict]:
    return [{"name": b.name, "label": b.label, "url": b.url(target, kind, obj), "method": b.method,
             "tooltip": b.tooltip}
            for b in _BUTTONS if kind.plural in b.kinds and b.allowed(user, target)]

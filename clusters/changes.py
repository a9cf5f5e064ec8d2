"""The kinds of configuration change a registered cluster goes through in the background
(R3: EIP bind and unbind, agent credentials re-issued, a fleet joined or left).

While one runs the cluster is `changing`; when it is done it returns to the status it had
(`services.start_change` / `services.apply_change`). This app registers its own kinds
below in `services`; an app above registers its own from its AppConfig.ready() (fleets:
joining or leaving a fleet), so this app imports none of them.
"""
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Change:
    kind: str
    name: str  # English msgid (gettext_noop): the operation step that applies it
    reason: str  # English msgid: the reason of the status change to `changing`
    # apply(cluster, operation, **params): runs in the worker, with the cluster's row locked,
    # in the transaction that also ends the change; raises ValidationError to fail it.
    apply: Callable


_kinds: dict[str, Change] = {}


def register(change: Change) -> None:
    _kinds[change.kind] = change


def get(kind: str) -> Change:
    return _kinds[kind]

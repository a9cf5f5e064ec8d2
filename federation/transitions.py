"""The one way a federation's status changes (as `clusters.transitions` for clusters).

`change_status()` saves the status and writes the change as a fact (`FederationStatusChange`:
billing meters with it, the overview shows it, a failure's reason is read from it) and,
unless the caller audits the operation itself, a `federations:status` audit event. Callers
hold the federation's row lock when a concurrent change could race them."""
from django.db import transaction
from django.utils import timezone

from cceone.audit.services import record

from . import signals
from .models import Federation, FederationStatusChange


@transaction.atomic
def change_status(federation: Federation, to: str, reason: str = "", params: dict | None = None, *,
                  audit: bool = True, at=None) -> FederationStatusChange | None:
    """Move `federation` to `to`; nothing happens when it already has it. `reason` is an
    English msgid (gettext_noop) with its %-`params`, read in the reader's language."""
    to = Federation.Status(to)
    previous = federation.status
    if previous == to:
        return None
    federation.status = to
    fields = ["status"]
    if to == Federation.Status.RUNNING and federation.first_running_at is None:
        federation.first_running_at = at or timezone.now()
        fields.append("first_running_at")
    federation.save(update_fields=fields)
    change = FederationStatusChange.objects.create(federation=federation, from_status=previous or "", to_status=to,
                                                   at=at or timezone.now(), reason=reason[:500],
                                                   reason_params=params or {})
    signals.status_changed.send(Federation, federation=federation, previous=previous, to=to)
    if audit:
        record(None, "federations:status", federation, account=federation.account,
               details={"from": previous, "to": str(to), "reason": change.display_reason})
    return change


def history(federation: Federation, *, newest_first: bool = False):
    order = ("-at", "-id") if newest_first else ("at", "id")
    return FederationStatusChange.objects.filter(federation=federation).order_by(*order)


def last_reason(federation: Federation) -> str:
    """Why the federation is in its status (a failure's reason), in the reader's language."""
    change = (FederationStatusChange.objects.filter(federation=federation, to_status=federation.status)
              .order_by("-at", "-id").first())
    return change.display_reason if change else ""

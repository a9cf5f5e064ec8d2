"""Secrets: values hidden, revealed only through the audited action."""
from django.utils.translation import gettext_lazy as _

from ..create_forms import SecretForm
from ..registry import Column, Kind, register


def _redact(secret: dict) -> None:
    """Values only through the audited reveal."""
    secret["data"] = {key: "<hidden>" for key in secret.get("data") or {}}
    secret.pop("stringData", None)


def _keys(view, secret) -> dict:
    return {"secret_keys": sorted((secret.get("data") or {}).keys())}


register(Kind(
    "Secret", "secrets", "", "v1", True, "configuration", _("Secrets"), _("Secret"),
    columns=(Column(_("Type"), lambda o, c: o.get("type") or "Opaque"),
             Column(_("Data"), lambda o, c: len(o.get("data") or {}))),
    conditions=False, show_status=False, summary=lambda o: [(_("Type"), o.get("type") or "Opaque")],
    redact=_redact, actions=frozenset({"reveal"}), create_form=SecretForm,
    reveal_notice=_("The editor shows this secret's values; opening it is recorded in the audit log."),
    detail_context=_keys, detail_template="resources/partials/secret_data.html",
    template="""apiVersion: v1
kind: Secret
metadata:
  name: my-secret
type: Opaque
stringData:
  password: change-me
""",
))

"""Every write of monitoring, with its checks and audit; the panels' reads."""
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cceone.audit.services import record
from cceone.iam.access import require

from . import panels
from .models import PrometheusEndpoint
from .prometheus import Prometheus, PrometheusError, refuse_private

VIEW, CONFIGURE = "clusters:get", "monitoring:configure"
FIELDS = ("mode", "namespace", "service", "port", "scheme", "path_prefix", "url", "verify_tls")


def endpoint_of(cluster) -> PrometheusEndpoint | None:
    return PrometheusEndpoint.objects.filter(cluster=cluster).select_related("cluster").first()


def build(cluster, values: dict, current: PrometheusEndpoint | None = None) -> PrometheusEndpoint:
    """An endpoint with `values` (unsaved), judged by every rule. A blank token keeps the one stored."""
    endpoint = PrometheusEndpoint(cluster=cluster)
    if current is not None:
        endpoint.pk, endpoint.token_encrypted = current.pk, current.token_encrypted
    for name in FIELDS:
        if name in values:
            setattr(endpoint, name, values[name] if values[name] is not None else "")
    if values.get("token"):
        endpoint.token = values["token"]
    if values.get("clear_token"):
        endpoint.token = ""
    errors = {}
    if endpoint.mode == PrometheusEndpoint.Mode.EXTERNAL:
        if not endpoint.url:
            errors["url"] = _("Enter the URL of the Prometheus server.")
        elif not endpoint.url.startswith(("http://", "https://")):
            errors["url"] = _("Use an http:// or https:// URL.")
        elif endpoint.token and endpoint.url.startswith("http://"):
            errors["url"] = _("A bearer token is sent only over https://.")
        else:
            try:
                refuse_private(endpoint.url)
            except PrometheusError as error:
                errors["url"] = error.message
        endpoint.namespace = endpoint.service = endpoint.port = ""
    else:
        for name, message in (("namespace", _("Enter the namespace of the Prometheus service.")),
                              ("service", _("Enter the name of the Prometheus service."))):
            if not getattr(endpoint, name):
                errors[name] = message
        endpoint.url, endpoint.token_encrypted = "", ""
    try:
        endpoint.full_clean(exclude=["cluster", *errors])
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(name, messages[0])
    if errors:
        raise ValidationError(errors)
    return endpoint


@transaction.atomic
def configure(user, cluster, values: dict) -> PrometheusEndpoint:
    require(user, VIEW, cluster)
    require(user, CONFIGURE, cluster)
    current = endpoint_of(cluster)
    endpoint = build(cluster, values, current)
    endpoint.updated_by = user
    endpoint.checked_at, endpoint.check_ok, endpoint.check_message = None, None, ""
    endpoint.save()
    record(user, CONFIGURE, cluster, details={"mode": endpoint.mode, "endpoint": endpoint.describe(),
                                              "token": bool(endpoint.token_encrypted)})
    return endpoint


@transaction.atomic
def remove(user, cluster) -> None:
    require(user, VIEW, cluster)
    require(user, CONFIGURE, cluster)
    deleted, _rows = PrometheusEndpoint.objects.filter(cluster=cluster).delete()
    if deleted:
        record(user, CONFIGURE, cluster, details={"removed": True})


def test_connection(user, cluster, values: dict | None = None) -> tuple[bool, str]:
    """Try the endpoint (`values` not yet saved, or the stored one): (works, message). Testing the
    stored one keeps its result on it."""
    require(user, VIEW, cluster)
    require(user, CONFIGURE, cluster)
    current = endpoint_of(cluster)
    if values is None:
        if current is None:
            return False, _("No Prometheus endpoint is configured for this cluster.")
        endpoint = current
    else:
        endpoint = build(cluster, values, current)
    try:
        ok, message = True, Prometheus(endpoint).test()
    except PrometheusError as error:
        ok, message = False, error.message
    if values is None:
        PrometheusEndpoint.objects.filter(pk=current.pk).update(checked_at=timezone.now(), check_ok=ok,
                                                                check_message=message)
    return ok, message


def panel_data(user, cluster, range_key: str) -> dict | None:
    """The preset panels' series, or None when no endpoint is configured."""
    require(user, VIEW, cluster)
    endpoint = endpoint_of(cluster)
    if endpoint is None:
        return None
    return panels.load(Prometheus(endpoint), range_key if range_key in panels.RANGES else panels.DEFAULT_RANGE)


def saved_message() -> str:
    return _("Prometheus endpoint saved.")


def removed_message() -> str:
    return _("Prometheus endpoint removed: the panels are off until one is configured.")

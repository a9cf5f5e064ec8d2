"""Where the current request came from, for audit records written deep in services."""
import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    source_ip: str | None = None
    user_agent: str = ""
    region: str = ""


_origin: contextvars.ContextVar[Origin] = contextvars.ContextVar("audit_origin", default=Origin())


def current() -> Origin:
    return _origin.get()


def set_origin(origin: Origin):
    return _origin.set(origin)


def reset(token) -> None:
    _origin.reset(token)


def origin_from_request(request) -> Origin:
    # Behind a reverse proxy REMOTE_ADDR is the proxy; the proxy's X-Forwarded-For is
    # only trusted when configured, so a client cannot forge its address.
    from django.conf import settings

    ip = request.META.get("REMOTE_ADDR")
    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            ip = forwarded.split(",")[0].strip()
    region = getattr(request, "region", None)
    return Origin(source_ip=ip, user_agent=request.META.get("HTTP_USER_AGENT", "")[:255],
                  region=region.code if region else "")

"""Logging filters for the console's processes."""
import logging


class RefusalsWithoutTraceback(logging.Filter):
    """A refused request (4xx: forbidden, bad input) is expected, audited where it matters, and
    says nothing about the code: one warning line, not a traceback operators mistake for a bug."""

    def filter(self, record: logging.LogRecord) -> bool:
        if 400 <= getattr(record, "status_code", 0) < 500:
            record.exc_info = record.exc_text = None
        return True


# -- request ids and JSON logs ------------------------------------------------------------
# One id per console request, carried on: the gateway sends it to the hub as X-Request-ID,
# the hub on to the agent (and the API server) in the tunnelled request's headers, audit
# events keep it in their details, and every log line written while serving the request
# carries it (`request_id` in the JSON logs).
import contextvars  # noqa: E402
import re  # noqa: E402
import uuid  # noqa: E402

REQUEST_ID_HEADER = "X-Request-ID"
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("cceone_request_id", default="")
_VALID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def current_request_id() -> str:
    return _request_id.get()


def bind_request_id(value: str | None = None) -> contextvars.Token:
    """Use `value` (a caller's id, if well formed) or a new one for what follows."""
    rid = value if value and _VALID.match(value) else uuid.uuid4().hex
    return _request_id.set(rid)


def unbind_request_id(token: contextvars.Token) -> None:
    _request_id.reset(token)


class RequestIdMiddleware:
    """Gives each request an id (the client's X-Request-ID if well formed, else a new one),
    binds it for logs and audit, and answers it in the response's X-Request-ID."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = bind_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = current_request_id()
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response[REQUEST_ID_HEADER] = request.request_id
        return response


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (empty outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = current_request_id()
        return True


def json_formatter():
    """One JSON object per line (structlog renders standard-library records): time, level,
    logger, message, request_id and the record's extras."""
    import structlog

    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )

"""Logging filters for the console's processes."""
import logging


class RefusalsWithoutTraceback(logging.Filter):
    """A refused request (4xx: forbidden, bad input) is expected, audited where it matters, and
    says nothing about the code: one warning line, not a traceback operators mistake for a bug."""

    def filter(self, record: logging.LogRecord) -> bool:
        if 400 <= getattr(record, "status_code", 0) < 500:
            record.exc_info = record.exc_text = None
        return True

"""SMS backends for notices, chosen by CCEONE_SMS_BACKEND (a dotted path).

- `billing.sms.LoggingBackend` (default): writes the message to the log;
- `billing.sms.HttpBackend`: posts JSON to an SMS provider's HTTP API
  (CCEONE_SMS_HTTP_URL, bearer token CCEONE_SMS_HTTP_TOKEN, sender CCEONE_SMS_SENDER):
  `{"to": "+86…", "text": "…", "sender": "CCE One", "reference": "cceone-notice-12"}`;
  any 2xx answer is success. The reference lets a provider drop a retried duplicate.

A backend is a class with `send(phone, text, reference)` that raises `SmsError` when the
message was not accepted.
"""
import json
import logging
import urllib.error
import urllib.request

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("billing.sms")


class SmsError(Exception):
    pass


class LoggingBackend:
    def send(self, phone: str, text: str, reference: str = "") -> None:
        logger.info("SMS to %s (%s): %s", phone, reference, text)


class HttpBackend:
    def __init__(self, url: str | None = None, token: str | None = None, sender: str | None = None,
                 timeout: float = 10.0):
        self.url = url if url is not None else settings.CCEONE_SMS_HTTP_URL
        self.token = token if token is not None else settings.CCEONE_SMS_HTTP_TOKEN
        self.sender = sender if sender is not None else settings.CCEONE_SMS_SENDER
        self.timeout = timeout
        if not self.url:
            raise SmsError("CCEONE_SMS_HTTP_URL is not set")

    def send(self, phone: str, text: str, reference: str = "") -> None:
        payload = json.dumps({"to": phone, "text": text, "sender": self.sender, "reference": reference},
                             ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=payload, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as error:
            raise SmsError(f"the SMS provider answered {error.code}: {error.read()[:200]!r}") from None
        except (urllib.error.URLError, OSError) as error:
            raise SmsError(f"the SMS provider is unreachable: {error}") from None


def get_backend():
    return import_string(settings.CCEONE_SMS_BACKEND)()

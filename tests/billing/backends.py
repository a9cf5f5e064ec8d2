"""An email backend for tests: the SMTP server refuses the first `failures` sends."""
from django.core.mail.backends.locmem import EmailBackend


class FailingOnceEmailBackend(EmailBackend):
    failures = 1

    def send_messages(self, messages):
        if FailingOnceEmailBackend.failures > 0:
            FailingOnceEmailBackend.failures -= 1
            raise ConnectionRefusedError("the SMTP server refused the connection")
        return super().send_messages(messages)

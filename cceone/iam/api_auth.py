from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from .models import APIToken


class APITokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token cce_…` with a personal API token, looked up by its hash."""

    def authenticate_credentials(self, key):
        token = APIToken.objects.select_related("user__account").filter(key_hash=APIToken.hash(key)).first()
        if token is None or token.is_expired:
            raise exceptions.AuthenticationFailed(_("Invalid or expired token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        # Throttle the write: last use to the minute is enough and avoids a write per call.
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            APIToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

"""API rate limits: DRF's anonymous and per-user throttles, reading their rate per request.

DRF's own classes copy the rates when they are imported, so the test settings or an
`override_settings` could not change them; these look them up in the current settings."""
from rest_framework import throttling
from rest_framework.settings import api_settings


class RateFromSettings:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonRateThrottle(RateFromSettings, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(RateFromSettings, throttling.UserRateThrottle):
    pass

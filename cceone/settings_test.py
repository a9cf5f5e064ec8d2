"""The test suite's settings: the defaults, with a fast password hasher and static files
served from the source tree (no collectstatic before a test run)."""
from .settings import *  # noqa: F401,F403
from .settings import STORAGES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}

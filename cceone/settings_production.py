"""Production settings: the defaults, hardened. Used by `check --deploy` in CI.

The secrets must come from the deployment: the embedded defaults generate them into
`var/`, which on several web servers (or a rebuilt container) would mean different keys —
sessions signed by one machine rejected by the next, encrypted fields unreadable."""
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

REQUIRED_SECRETS = {
    "SECRET_KEY": "Django's signing key (sessions, CSRF, password reset links)",
    "CCEONE_ENCRYPTION_KEYS": "Fernet keys, newest first, for secrets at rest",
    "CCEONE_HUB_SECRET": "shared by the console and the hub's internal listener",
}

# Checked before the defaults are imported, so nothing is generated into var/ first.
environ.Env.read_env(Path(__file__).resolve().parent.parent / ".env", overwrite=False)
_missing = [name for name in REQUIRED_SECRETS if not environ.Env().str(name, default="").strip()]
if _missing:
    raise ImproperlyConfigured(
        "Production settings need these environment variables: "
        + "; ".join(f"{name} ({REQUIRED_SECRETS[name]})" for name in _missing)
        + ". Generate a Fernet key with `python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())'`."
    )

from .settings import *  # noqa: E402,F401,F403
from .settings import env  # noqa: E402

DEBUG = False
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True

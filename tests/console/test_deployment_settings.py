"""What a deployment gets from the settings: production refuses to start without its
secrets, the default hosts are the machine's own, and the API is rate-limited."""
import os
import subprocess
import sys

from django.conf import settings
from django.core.cache import cache
from django.test import Client, override_settings

from cceone.iam.models import APIToken

SECRETS = ("SECRET_KEY", "CCEONE_ENCRYPTION_KEYS", "CCEONE_HUB_SECRET")
FERNET_KEY = "x7d0Vv7G0JZ3K2Yb0lJZ7oK6r0Xw1Q0nq6b8m8y3QzU="


def run_django(settings_module: str, tmp_path, code: str, **extra_env) -> subprocess.CompletedProcess:
    """`code` after django.setup(), with the given settings in a process of its own, without
    the secrets of this process's environment; its var/ is a fresh directory."""
    env = {k: v for k, v in os.environ.items()
           if k not in SECRETS and k not in ("ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE")}
    env.update(DJANGO_SETTINGS_MODULE=settings_module, CCEONE_VAR_DIR=str(tmp_path / "var"), **extra_env)
    script = f"import django; django.setup()\n{code}"
    return subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)


def test_production_refuses_to_start_without_its_secrets(tmp_path):
    result = run_django("cceone.settings_production", tmp_path, "print('started')",
                        SECRET_KEY="only-this-one")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "CCEONE_ENCRYPTION_KEYS" in result.stderr and "CCEONE_HUB_SECRET" in result.stderr
    assert "started" not in result.stdout
    # Nothing was generated in its place.
    assert not any((tmp_path / "var" / name).exists() for name in ("secret_key", "encryption_key", "hub_secret"))


def test_production_starts_with_its_secrets_and_uses_them(tmp_path):
    result = run_django(
        "cceone.settings_production", tmp_path,
        "from django.conf import settings as s; print(s.SECRET_KEY, s.CCEONE_HUB_SECRET, s.CCEONE_ENCRYPTION_KEYS[0])",
        SECRET_KEY="k" * 60, CCEONE_ENCRYPTION_KEYS=FERNET_KEY, CCEONE_HUB_SECRET="hub-secret",
        PYTHONPATH=str(settings.BASE_DIR))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["k" * 60, "hub-secret", FERNET_KEY]


def test_default_allowed_hosts_do_not_include_the_test_client_host(tmp_path):
    result = run_django("cceone.settings", tmp_path, "from django.conf import settings as s; print(s.ALLOWED_HOSTS)",
                        PYTHONPATH=str(settings.BASE_DIR))
    assert result.returncode == 0, result.stderr
    assert "testserver" not in result.stdout
    assert "localhost" in result.stdout


def test_api_calls_beyond_the_rate_are_refused_with_429(tenant):
    cache.clear()
    token, key = APIToken.issue(tenant.main, "script")
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    rates = {"anon": "2/min", "user": "3/min"}
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        codes = [client.get("/api/v1/iam/projects/").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        refused = client.get("/api/v1/iam/projects/")
        assert "Retry-After" in refused.headers
        # Another user has their own budget; anonymous callers share a smaller one per address.
        other, other_key = APIToken.issue(tenant.admin, "script")
        assert Client(HTTP_AUTHORIZATION=f"Token {other_key}").get("/api/v1/iam/projects/").status_code == 200
        anonymous = [Client().get("/api/schema/").status_code for _ in range(3)]
    cache.clear()
    assert anonymous[-1] == 429

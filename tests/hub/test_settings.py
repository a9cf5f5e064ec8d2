"""The hub's settings as an operator writes them (README's table)."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def console_hub_url(**env) -> str:
    """CCEONE_HUB_INTERNAL_URL as the console process computes it from this environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CCEONE_HUB_")}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from django.conf import settings; print(settings.CCEONE_HUB_INTERNAL_URL)"],
        cwd=ROOT, env={**clean, "DJANGO_SETTINGS_MODULE": "cceone.settings", **env},
        capture_output=True, text=True, check=True)
    return result.stdout.strip().splitlines()[-1]


def test_the_console_calls_the_hub_where_it_was_told_to_listen():
    assert console_hub_url(CCEONE_HUB_INTERNAL_LISTEN="127.0.0.1:19544") == "http://127.0.0.1:19544"
    assert console_hub_url(CCEONE_HUB_INTERNAL_LISTEN="0.0.0.0:19544") == "http://127.0.0.1:19544"
    assert console_hub_url() == "http://127.0.0.1:9444"


def test_an_explicit_internal_url_wins():
    assert console_hub_url(CCEONE_HUB_INTERNAL_LISTEN="0.0.0.0:19544",
                           CCEONE_HUB_INTERNAL_URL="http://hub.internal:9444") == "http://hub.internal:9444"

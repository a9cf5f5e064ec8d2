"""Wait until the web process answers /healthz, then print where the console is and the
demo logins. It then stays idle: under honcho, a process that exits stops the others."""
import json
import signal
import time
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand

from .seed_demo import demo_logins


class Command(BaseCommand):
    help = "Print the console URL and demo logins once the web process is healthy."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/")
        parser.add_argument("--timeout", type=float, default=120)

    def handle(self, *args, url, timeout, **options):
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url.rstrip("/") + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stderr.write(f"the console did not answer at {url} within {timeout:.0f} s")
                return
            time.sleep(0.5)
        credentials = settings.VAR_DIR / "demo-credentials.json"
        saved = json.loads(credentials.read_text()) if credentials.exists() else {}
        self.stdout.write("=" * 64)
        self.stdout.write(f"CCE One is running at {url}")
        unknown = "(see var/demo-credentials.json)"
        for index, (username, what) in enumerate(demo_logins()):
            # The first line's wording is what .ci/smoke_run.sh looks for.
            label = "Sign in as:" if index == 0 else "       or:"
            self.stdout.write(f"{label} {username} / {saved.get(username, unknown)}  ({what})")
        self.stdout.write(f"Operators: {url}admin/ as operator / {saved.get('operator', '?')}")
        self.stdout.write("Press Ctrl-C to stop everything.")
        self.stdout.write("=" * 64, ending="\n")
        self.stdout.flush()
        signal.pause()

"""The banner `make run` prints once the console answers: every demo login, so a new user
can try each system policy without reading var/."""
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


class Healthy(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def console():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Healthy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


def test_the_ready_banner_prints_every_demo_login(console, tmp_path):
    logins = {"demo": "pw-main", "demo-admin": "pw-admin", "demo-user": "pw-user", "demo-viewer": "pw-viewer",
              "operator": "pw-operator"}
    (tmp_path / "demo-credentials.json").write_text(json.dumps(logins))
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    process = subprocess.Popen([sys.executable, "manage.py", "announce", "--url", console, "--timeout", "20"],
                               cwd=ROOT, env={**env, "CCEONE_VAR_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Press Ctrl-C"):
                break
    finally:
        process.kill()
        process.wait(10)
    banner = "\n".join(lines)
    assert "Sign in as: demo / pw-main" in banner  # what .ci/smoke_run.sh looks for
    for username in ("demo-admin", "demo-user", "demo-viewer"):
        assert f"{username} / {logins[username]}" in banner, banner
    assert "as operator / pw-operator" in banner

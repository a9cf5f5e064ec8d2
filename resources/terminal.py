"""A container shell for the pod page's web terminal.

The console runs as WSGI (gunicorn threads), which cannot hold a WebSocket to the
browser. So the browser gets the shell the way it already follows logs: the output as
server-sent events from one long request, whose thread holds the exec WebSocket to the
cluster (through the hub, impersonating the user, so RBAC decides `pods/exec`), and the
keystrokes and resizes as small POSTs. A POST may land in another worker process: the
session's thread listens on a Unix socket named after the session (under
VAR_DIR/terminals), and the POST hands its input over there, for the same user only.
A session ends when the shell exits, the browser goes away, or after
CCEONE_TERMINAL_MAX_SECONDS.
"""
import base64
import json
import os
import queue
import secrets
import socket
import ssl
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import websocket  # websocket-client, which the kubernetes client depends on
from django.conf import settings
from django.utils.translation import gettext as _

from cceone.kube.gateway import explain, identity_for

from .streaming import sse as _sse

STDIN, STDOUT, STDERR, ERROR, RESIZE = 0, 1, 2, 3, 4
SHELL = ["sh"]


class Refused(Exception):
    """The shell could not be opened; the message is for the user."""


def socket_dir() -> Path:
    path = Path(settings.VAR_DIR) / "terminals"
    path.mkdir(parents=True, exist_ok=True)
    return path


def valid_id(session_id: str) -> bool:
    return 16 <= len(session_id) <= 64 and all(c.isalnum() or c in "-_" for c in session_id)


def open_shell(target, user, namespace: str, pod: str, container: str):
    """The exec WebSocket for `sh` on a terminal, as `user`; raises Refused."""
    endpoint = target.kube_endpoint()
    query = urlencode([("command", c) for c in SHELL] + [("container", container), ("stdin", "true"),
                                                         ("stdout", "true"), ("tty", "true")])
    url = endpoint.host.rstrip("/") + f"/api/v1/namespaces/{namespace}/pods/{pod}/exec?{query}"
    url = "ws" + url[len("http"):] if url.startswith("http") else url
    who = identity_for(user)
    headers = [f"{k}: {v}" for k, v in endpoint.headers.items()]
    headers += [f"Impersonate-User: {who.username}"] + [f"Impersonate-Group: {g}" for g in who.groups]
    if endpoint.token:
        headers.append(f"Authorization: Bearer {endpoint.token}")
    sslopt = {"cert_reqs": ssl.CERT_REQUIRED if endpoint.verify_ssl else ssl.CERT_NONE}
    if endpoint.ca_file:
        sslopt["ca_certs"] = endpoint.ca_file
    try:
        return websocket.create_connection(url, header=headers, subprotocols=["v5.channel.k8s.io", "v4.channel.k8s.io"],
                                           timeout=15, sslopt=sslopt, enable_multithread=True)
    except websocket.WebSocketBadStatusException as error:
        refusal = SimpleNamespace(status=error.status_code, body=error.resp_body, reason=error.status_message or "")
        raise Refused(str(explain(refusal, target))) from None
    except (OSError, websocket.WebSocketException):
        raise Refused(target.unreachable_message(answered=False)) from None


def _ended(status: dict) -> tuple[str, str]:
    """(event, message) for the exec's closing Status."""
    message = status.get("message") or ""
    if "executable file not found" in message or "no such file or directory" in message:
        return "failure", _("This container has no shell (sh): its image does not include one, so no terminal "
                            "can be opened in it.")
    if status.get("status") == "Success" or status.get("reason") == "NonZeroExitCode":
        return "end", _("The shell exited.")
    return "failure", _("The terminal ended: %(message)s") % {"message": message}


def _limit_reached(seconds: float) -> str:
    if seconds >= 60:
        return _("The terminal reached its time limit of %(minutes)s minutes and was closed.") % {
            "minutes": round(seconds / 60)}
    return _("The terminal reached its time limit of %(seconds)s seconds and was closed.") % {
        "seconds": round(seconds)}


class Session:
    """One open shell: its output as events, its input from the session's Unix socket."""

    def __init__(self, ws, user_pk: int):
        self.ws = ws
        self.user_pk = user_pk
        self.id = secrets.token_urlsafe(18)
        self.events: queue.Queue = queue.Queue()
        self.closed = threading.Event()
        self.path = socket_dir() / f"{self.id}.sock"
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(self.path))
        os.chmod(self.path, 0o600)
        self.listener.listen(16)
        self.listener.settimeout(1.0)
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._accept, daemon=True).start()

    # -- the cluster's side ------------------------------------------------------------------
    def _read(self):
        try:
            self.ws.settimeout(None)
            while not self.closed.is_set():
                opcode, data = self.ws.recv_data()
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    break
                if not data:
                    continue
                if data[0] in (STDOUT, STDERR):
                    self.events.put(("data", data[1:]))
                elif data[0] == ERROR:
                    try:
                        status = json.loads(data[1:])
                    except ValueError:
                        status = {}
                    self.events.put(_ended(status))
                    return
        except (OSError, websocket.WebSocketException):
            pass
        self.events.put(("end", _("The terminal connection closed.")))

    # -- the browser's input -------------------------------------------------------------------
    def _accept(self):
        while not self.closed.is_set():
            try:
                conn, _addr = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    message = json.loads(conn.makefile("rb").readline() or b"{}")
                    conn.sendall(b"ok\n" if self.deliver(message) else b"refused\n")
                except (OSError, ValueError):
                    pass

    def deliver(self, message: dict) -> bool:
        if message.get("user") != self.user_pk:
            return False  # another user's POST, even with a guessed id
        try:
            if "data" in message:
                self.ws.send_binary(bytes([STDIN]) + str(message["data"]).encode())
            elif "resize" in message:
                cols, rows = (int(n) for n in message["resize"][:2])
                self.ws.send_binary(bytes([RESIZE]) + json.dumps({"Width": cols, "Height": rows}).encode())
            elif message.get("close"):
                self.events.put(("end", _("Terminal closed.")))
        except (OSError, websocket.WebSocketException, ValueError, TypeError):
            return False
        return True

    # -- the event stream ----------------------------------------------------------------------
    def stream(self):
        keepalive = float(getattr(settings, "CCEONE_LOG_FOLLOW_KEEPALIVE", 15))
        deadline = time.monotonic() + float(settings.CCEONE_TERMINAL_MAX_SECONDS)
        try:
            yield _sse(self.id, "ready")
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    yield _sse(_limit_reached(float(settings.CCEONE_TERMINAL_MAX_SECONDS)), "end")
                    return
                try:
                    kind, payload = self.events.get(timeout=min(keepalive, remaining))
                except queue.Empty:
                    yield ": keep-alive\n\n"
                    continue
                if kind == "data":
                    yield _sse(base64.b64encode(payload).decode())
                else:
                    yield _sse(payload, kind)
                    return
        finally:
            self.close()

    def close(self):
        self.closed.set()
        try:
            self.listener.close()
            self.path.unlink(missing_ok=True)
        finally:
            try:
                self.ws.close(timeout=2)
            except (OSError, websocket.WebSocketException):
                pass


def refused_stream(message: str):
    yield _sse(message, "failure")


def send_input(session_id: str, user_pk: int, message: dict) -> bool | None:
    """Hand a browser's input to the session's thread, in whichever process it runs.
    None: no such session (it ended)."""
    path = socket_dir() / f"{session_id}.sock"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(5)
            conn.connect(str(path))
            conn.sendall(json.dumps({**message, "user": user_pk}).encode() + b"\n")
            return conn.makefile("rb").readline().strip() == b"ok"
    except (FileNotFoundError, ConnectionRefusedError):
        return None
    except OSError:
        return False

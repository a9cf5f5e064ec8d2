"""The internal listener (aiohttp) and the agent's API-server leg, on raw sockets.

What the console's gateway, or any HTTP client on loopback, could send the
hub: HEAD, early answers, HTTP/1.0, Expect: 100-continue, an h2c offer, a
broken upload; and what an API server or a faulty agent could answer: no
body, keep-alive connections it drops, a body of another length than
announced.
"""

from __future__ import annotations

import json
import socket
import threading

import pytest

from .conftest import wait_until
from .test_proxy import _raw


def _connect(hub) -> socket.socket:
    host, port = hub.internal_url.split("//")[1].split(":")
    s = socket.create_connection((host, int(port)), timeout=10)
    return s


def _read_response(f, head: bool = False) -> tuple[int, dict, bytes]:
    """One response from a socket file: (status, lower-cased headers, body).

    `head`: the answer to a HEAD request, whose Content-Length describes a
    body that is not sent."""
    status_line = f.readline()
    assert status_line.startswith(b"HTTP/1.1 "), status_line
    status = int(status_line.split()[1])
    headers = {}
    while True:
        line = f.readline()
        if line in (b"\r\n", b""):
            break
        k, _, v = line.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    body = b""
    if head:
        pass
    elif "content-length" in headers:
        body = f.read(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            n = int(f.readline().strip(), 16)
            if n == 0:
                f.readline()
                break
            body += f.read(n)
            f.readline()
    return status, headers, body


def _get(path: str, secret: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: hub\r\nX-Hub-Secret: {secret}\r\n{extra}\r\n".encode()


def test_head_through_the_tunnel_has_no_body(agent, hub):
    s = _connect(hub)
    s.sendall(
        f"HEAD /clusters/c1/echo HTTP/1.1\r\nHost: hub\r\nX-Hub-Secret: {hub.secret}\r\n\r\n".encode()
        + _get("/clusters/c1/api/v1/namespaces/default/pods/seed-0", hub.secret)
    )
    f = s.makefile("rb")
    status, headers, _ = _read_response(f, head=True)
    assert status == 200 and int(headers["content-length"]) > 0
    # No body followed the HEAD answer: the next bytes are the next response.
    status, _, body = _read_response(f)
    assert status == 200 and json.loads(body)["metadata"]["name"] == "seed-0"
    s.close()


def test_a_request_without_the_secret_is_refused_and_the_connection_reused(agent, hub):
    s = _connect(hub)
    s.sendall(b"GET /clusters/c1/api/v1/namespaces HTTP/1.1\r\nHost: hub\r\n\r\n" + _get("/clusters/c1/_status", hub.secret))
    f = s.makefile("rb")
    status, _, body = _read_response(f)
    assert status == 401 and json.loads(body)["message"] == "missing or wrong hub secret"
    status, _, _ = _read_response(f)
    assert status == 200
    s.close()


def test_upstream_connections_dropped_by_the_api_server_are_replaced(agent, hub, core, fake_api):
    # Warm the agent's pool, then have the API server drop its idle
    # keep-alive connections (as a real one does after its idle timeout).
    assert core.read_namespaced_pod("seed-0", "default").metadata.name == "seed-0"
    wait_until(lambda: fake_api.call(_server_connections(fake_api.runner)) >= 1, what="a kept-alive upstream connection")
    fake_api.call(_drop_server_connections(fake_api.runner))
    # The agent must notice and connect afresh (or retry a request that
    # raced the close), not fail the next requests.
    for name in ("seed-1", "seed-2"):
        assert core.read_namespaced_pod(name, "default").metadata.name == name


async def _server_connections(runner):
    return len(runner.server.connections)


async def _drop_server_connections(runner):
    for proto in list(runner.server.connections):
        if proto.transport is not None:
            proto.transport.close()


class _RawAPIServer:
    """A scripted API server on a raw socket: `answer(path, nth)` gives the
    bytes to send for the nth (0-based) request on a connection, or None to
    close the connection without answering."""

    def __init__(self, answer):
        self.answer = answer
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.dropped = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        f = conn.makefile("rb")
        nth = 0
        while True:
            line = f.readline()
            if not line:
                break
            while f.readline() not in (b"\r\n", b""):
                pass
            data = self.answer(line.split()[1].decode(), nth)
            if data is None:
                self.dropped += 1
                break
            conn.sendall(data)
            nth += 1
        conn.close()

    def kubeconfig(self, tmp_path) -> str:
        kc = tmp_path / "raw-api.json"
        kc.write_text(json.dumps({
            "apiVersion": "v1", "current-context": "x",
            "clusters": [{"name": "x", "cluster": {"server": f"http://127.0.0.1:{self.port}"}}],
            "users": [{"name": "x", "user": {"token": "t"}}],
            "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}],
        }))
        return str(kc)

    def close(self):
        self.sock.close()


def _json_answer(obj) -> bytes:
    body = json.dumps(obj).encode()
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%b" % (len(body), body)


def test_request_on_a_pooled_connection_the_server_just_closed_is_retried(hub, start_agent, tmp_path):
    # Keep-alive is promised, but each connection is closed when its second
    # request arrives: the race a pooled connection loses when the server's
    # idle timeout fires just as the agent reuses it.
    server = _RawAPIServer(lambda path, nth: _json_answer({"path": path}) if nth == 0 else None)
    start_agent("c1", kubeconfig_path=server.kubeconfig(tmp_path), heartbeat_interval=60)
    # Several requests at once leave several pooled connections, each one
    # answer from being dropped: the retry must not pick another of them.
    warm = [_connect(hub) for _ in range(4)]
    for w in warm:
        w.sendall(_get("/clusters/c1/warm", hub.secret))
    for w in warm:
        assert _read_response(w.makefile("rb"))[0] == 200
        w.close()
    s = _connect(hub)
    f = s.makefile("rb")
    for i in range(6):
        s.sendall(_get(f"/clusters/c1/thing-{i}", hub.secret))
        status, _, body = _read_response(f)
        assert status == 200, body
        assert json.loads(body)["path"] == f"/thing-{i}"
    assert server.dropped >= 2  # pooled connections did die under the agent
    s.close()
    server.close()


def test_no_content_and_not_modified_carry_no_body_length(hub, start_agent, tmp_path):
    def answer(path, nth):
        if path.endswith("/204"):
            return b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"
        return b'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 1234\r\n\r\n'

    server = _RawAPIServer(answer)
    start_agent("c1", kubeconfig_path=server.kubeconfig(tmp_path), heartbeat_interval=60)
    s = _connect(hub)
    f = s.makefile("rb")
    s.sendall(_get("/clusters/c1/204", hub.secret) + _get("/clusters/c1/304", hub.secret))
    status, headers, body = _read_response(f, head=True)
    assert (status, body) == (204, b"") and "content-length" not in headers  # RFC 9110 8.6
    status, headers, body = _read_response(f, head=True)
    # Nothing follows a 304 (its length would describe the representation it
    # stands for, which aiohttp does not repeat).
    assert status == 304 and headers.get("content-length") in (None, "1234") and headers["etag"] == '"x"'
    s.sendall(_get("/clusters/c1/_status", hub.secret))
    assert _read_response(f)[0] == 200
    s.close()
    server.close()


def test_http10_client_gets_a_body_ended_by_close(agent, hub):
    s = _connect(hub)
    s.sendall(f"GET /clusters/c1/api/v1/namespaces/default/pods/seed-0/log HTTP/1.0\r\nX-Hub-Secret: {hub.secret}\r\n\r\n".encode())
    s.settimeout(10)
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.lower().split(b"\r\n")
    assert lines[0].split()[1] == b"200"
    # HTTP/1.0 knows no chunks: the body ends with the connection (the loop above).
    assert lines[0].startswith(b"http/1.0 ") and b"transfer-encoding: chunked" not in lines
    assert body.startswith(b"line 0\n")  # raw bytes, no chunk sizes
    s.close()


def test_an_early_answer_keeps_the_connection(agent, hub):
    # A 401 arrives before the body is sent; the body is then read and
    # dropped, and the connection carries the next request.
    s = _connect(hub)
    body = b"x" * 200_000
    s.sendall(f"POST /clusters/c1/upload HTTP/1.1\r\nHost: hub\r\nContent-Length: {len(body)}\r\n\r\n".encode())
    f = s.makefile("rb")
    status, headers, _ = _read_response(f)
    assert status == 401 and headers.get("connection") != "close"
    s.sendall(body + _get("/clusters/c1/_status", hub.secret))
    assert _read_response(f)[0] == 200
    s.close()


async def _agent_streams(hub):
    return sum(len(c.streams) for c in hub.connections)


def test_a_broken_upload_leaves_no_stream_at_the_agent(agent, hub):
    # aiohttp's server leaves a request whose chunked body breaks off waiting
    # for the rest; once the client gives up, nothing may stay open at the agent.
    s = _connect(hub)
    s.sendall(
        f"POST /clusters/c1/upload HTTP/1.1\r\nHost: hub\r\nX-Hub-Secret: {hub.secret}\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n".encode()
    )
    wait_until(lambda: hub.call(_agent_streams(hub.hub)) == 1, what="the upload's stream")
    s.sendall(b"zz\r\nnot a chunk\r\n")
    s.close()
    # Forgotten by the hub, which RESETs it at the agent (the agent then drops
    # the upstream request: test_proxy.test_watch_client_disconnect_cancels_upstream).
    wait_until(lambda: hub.call(_agent_streams(hub.hub)) == 0, what="the stream reset")


def test_an_early_answer_to_a_last_request_drains_its_body_before_closing(agent, hub):
    s = _connect(hub)
    body = b"x" * 200_000
    s.sendall(f"POST /clusters/c1/upload HTTP/1.1\r\nHost: hub\r\nConnection: close\r\nContent-Length: {len(body)}\r\n\r\n".encode())
    f = s.makefile("rb")
    status, headers, _ = _read_response(f)
    assert status == 401 and headers["connection"] == "close"
    s.sendall(body)  # still read by the hub: no reset while we finish
    s.settimeout(10)
    assert f.read() == b""  # then a clean close
    s.close()




def test_an_http2_upgrade_offer_is_declined_with_an_http11_answer(agent, hub):
    s = _connect(hub)
    s.sendall(
        f"GET /clusters/c1/version HTTP/1.1\r\nHost: hub\r\nX-Hub-Secret: {hub.secret}\r\n"
        "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n".encode()
    )
    s.settimeout(10)
    f = s.makefile("rb")
    status, headers, body = _read_response(f)
    assert status == 200 and json.loads(body)["major"] == "1"
    assert headers["connection"] == "close"
    s.close()




def test_an_api_server_behind_a_path_prefix_gets_the_prefixed_path(hub, start_agent, tmp_path):
    # Rancher-style and proxied API servers live under a path: the agent
    # must keep the kubeconfig's prefix and the query byte for byte.
    server = _RawAPIServer(lambda path, nth: _json_answer({"path": path}))
    kc = json.loads(open(server.kubeconfig(tmp_path)).read())
    kc["clusters"][0]["cluster"]["server"] += "/k8s/clusters/c-x/"
    (tmp_path / "prefixed.json").write_text(json.dumps(kc))
    start_agent("c1", kubeconfig_path=str(tmp_path / "prefixed.json"), heartbeat_interval=60)
    s = _connect(hub)
    s.sendall(_get("/clusters/c1/api/v1/pods?labelSelector=a%3Db&limit=5", hub.secret))
    status, _, body = _read_response(s.makefile("rb"))
    assert status == 200 and json.loads(body)["path"] == "/k8s/clusters/c-x/api/v1/pods?labelSelector=a%3Db&limit=5"
    s.close()
    server.close()


@pytest.mark.parametrize("size", [1000, 300_000], ids=["inline", "streamed"])
def test_expect_100_continue_is_answered(agent, hub, size):
    import hashlib

    s = _connect(hub)
    s.sendall(
        f"POST /clusters/c1/upload HTTP/1.1\r\nHost: hub\r\nX-Hub-Secret: {hub.secret}\r\n"
        f"Content-Length: {size}\r\nExpect: 100-continue\r\n\r\n".encode()
    )
    s.settimeout(5)  # curl waits a second before sending anyway; we do not
    f = s.makefile("rb")
    assert f.readline() == b"HTTP/1.1 100 Continue\r\n" and f.readline() == b"\r\n"
    body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    s.sendall(body)
    status, _, answer = _read_response(f)
    assert status == 200 and json.loads(answer) == {"len": size, "sha256": hashlib.sha256(body).hexdigest()}
    s.close()


@pytest.mark.parametrize("sent", [b"abcdefgh", b"ab"], ids=["longer", "shorter"])
def test_an_agent_body_of_another_length_than_announced_never_reaches_the_next_answer(hub, sent):
    """A faulty agent must not be able to spill bytes into (or swallow) the
    next answer on the console's kept-alive connection."""
    import asyncio

    import aiohttp

    from cceone_tunnel import protocol as p

    from .conftest import AGENT_TOKENS

    async def fake_agent(ready):
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(
                hub.agent_url + "/agent/connect", headers={"Authorization": f"Bearer {AGENT_TOKENS['c2']}"}, protocols=(p.SUBPROTOCOL,)
            ) as ws:
                await ws.receive(timeout=5)  # SETTINGS
                ready.set()
                msg = await ws.receive(timeout=10)
                _, _, sid, _ = p.parse(msg.data)
                await ws.send_bytes(p.head_frame(p.RESPONSE, sid, {"status": 200, "headers": [["Content-Length", "4"]]}))
                await ws.send_bytes(p.frame(p.DATA, sid, sent, p.FLAG_END))
                await asyncio.sleep(1)

    ready = threading.Event()
    t = threading.Thread(target=lambda: asyncio.run(fake_agent(ready)), daemon=True)
    t.start()
    assert ready.wait(10)
    wait_until(lambda: json.loads(_raw(f"{hub.internal_url}/clusters/c2/_status", hub.secret).read())["connected"], what="fake agent")
    s = _connect(hub)
    s.sendall(_get("/clusters/c2/thing", hub.secret) + _get("/clusters/c2/_status", hub.secret))
    s.settimeout(10)
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    # The announced head went out; the connection was then cut, and nothing
    # of the bad body or of a second answer made it through as an answer.
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and b"Content-Length: 4\r\n" in data
    assert data.count(b"HTTP/1.1") == 1 and sent not in data
    s.close()
    t.join(5)

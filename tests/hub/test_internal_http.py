"""The internal listener's own HTTP/1.1 server (cceone/hub/http1.py), on raw sockets.

What the console's gateway, or any HTTP client on loopback, could send it:
keep-alive and pipelined requests, HEAD, malformed or oversized heads,
connections left idle — and the agent answering small requests from its
callback path, including when its pooled upstream connection went stale.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

import cceone.hub.http1 as http1

from .conftest import kube_api, wait_until


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


def test_pipelined_requests_are_answered_in_order(agent, hub):
    s = _connect(hub)
    # Three requests in one write: a tunnelled GET, the hub's own status and
    # another tunnelled GET; the answers must come back in that order.
    s.sendall(
        _get("/clusters/c1/api/v1/namespaces/default/pods/seed-1", hub.secret)
        + _get("/clusters/c1/_status", hub.secret)
        + _get("/clusters/c1/api/v1/namespaces/default/pods/seed-2", hub.secret)
    )
    f = s.makefile("rb")
    first, second, third = (_read_response(f) for _ in range(3))
    assert first[0] == 200 and json.loads(first[2])["metadata"]["name"] == "seed-1"
    assert second[0] == 200 and json.loads(second[2])["connected"] is True
    assert third[0] == 200 and json.loads(third[2])["metadata"]["name"] == "seed-2"
    s.close()


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


@pytest.mark.parametrize(
    "raw, status",
    [
        (b"GET /clusters/c1/x HTTP/1.1\r\nHost: hub\r\nContent-Length: nope\r\n\r\n", 400),
        (b"NOT HTTP AT ALL\r\n\r\n", 400),
        (b"GET /clusters/c1/x HTTP/1.1\r\nHost: hub\r\nX-Big: " + b"a" * (http1.MAX_HEAD + 10) + b"\r\n\r\n", 431),
    ],
    ids=["bad-length", "garbage", "head-too-large"],
)
def test_malformed_requests_get_an_error_and_the_hub_keeps_serving(agent, hub, core, raw, status):
    s = _connect(hub)
    s.sendall(raw)
    f = s.makefile("rb")
    got, headers, _ = _read_response(f)
    assert got == status
    assert headers.get("connection") == "close"
    assert f.read() == b""  # closed
    s.close()
    assert core.read_namespaced_pod("seed-0", "default").metadata.name == "seed-0"


def test_a_request_without_the_secret_is_refused_and_the_connection_reused(agent, hub):
    s = _connect(hub)
    s.sendall(b"GET /clusters/c1/api/v1/namespaces HTTP/1.1\r\nHost: hub\r\n\r\n" + _get("/clusters/c1/_status", hub.secret))
    f = s.makefile("rb")
    status, _, body = _read_response(f)
    assert status == 401 and json.loads(body)["message"] == "missing or wrong hub secret"
    status, _, _ = _read_response(f)
    assert status == 200
    s.close()


def test_idle_connections_are_closed_but_a_quiet_watch_is_not(agent, hub, fake_api, monkeypatch):
    monkeypatch.setattr(http1, "IDLE_TIMEOUT", 0.5)
    # The sweeper sleeps IDLE_TIMEOUT / 5 between passes; wake it on the new value.
    hub.call(_restart_sweeper(hub.hub))
    idle = _connect(hub)
    idle.sendall(_get("/clusters/c1/_status", hub.secret))
    f = idle.makefile("rb")
    assert _read_response(f)[0] == 200

    events = []
    done = threading.Event()

    def watch():
        core = kube_api(f"{hub.internal_url}/clusters/c1", secret=hub.secret)
        from kubernetes import watch as kwatch

        for ev in kwatch.Watch().stream(core.list_namespaced_pod, "default", timeout_seconds=20, resource_version="0"):
            if ev["object"].metadata.name == "late":
                events.append(ev["type"])
                done.set()
                return

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    time.sleep(1.5)  # three idle timeouts: the idle connection goes, the watch stays
    assert f.read() == b""
    from .test_proxy import _pod_body

    kube_api(f"{hub.internal_url}/clusters/c1", secret=hub.secret).create_namespaced_pod("default", _pod_body("late"))
    assert done.wait(10)
    assert events == ["ADDED"]
    idle.close()


async def _restart_sweeper(hub):
    server = hub._internal_server
    server._sweeper.cancel()
    import asyncio

    server._sweeper = asyncio.ensure_future(server._sweep())


def test_upstream_connections_dropped_by_the_api_server_are_replaced(agent, hub, core, fake_api):
    # Warm the agent's pool, then have the API server drop its idle
    # keep-alive connections (as a real one does after its idle timeout).
    assert core.read_namespaced_pod("seed-0", "default").metadata.name == "seed-0"
    pool = agent.agent._kube
    wait_until(lambda: len(pool._idle) >= 1, what="a pooled upstream connection")
    fake_api.call(_drop_server_connections(fake_api.runner))
    # The agent must notice and connect afresh (or retry a request that
    # raced the close), not fail the next requests.
    for name in ("seed-1", "seed-2"):
        assert core.read_namespaced_pod(name, "default").metadata.name == name


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
    # A 304's length describes the representation it stands for; nothing follows.
    assert status == 304 and headers["content-length"] == "1234" and headers["etag"] == '"x"'
    s.sendall(_get("/clusters/c1/_status", hub.secret))
    assert _read_response(f)[0] == 200
    s.close()
    server.close()


def test_pipelined_streamed_upload_behind_a_slow_request(agent, hub, fake_api):
    import hashlib

    fake_api.api.sleep_for = 0.3
    s = _connect(hub)
    s.sendall(
        _get("/clusters/c1/sleep", hub.secret)
        + f"POST /clusters/c1/upload HTTP/1.1\r\nHost: hub\r\nX-Hub-Secret: {hub.secret}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    )
    time.sleep(0.5)  # the upload's body comes after its turn has come
    s.sendall(b"5\r\nhello\r\n0\r\n\r\n")
    s.settimeout(10)
    f = s.makefile("rb")
    assert _read_response(f)[0] == 200
    status, _, body = _read_response(f)
    assert status == 200 and json.loads(body) == {"len": 5, "sha256": hashlib.sha256(b"hello").hexdigest()}
    s.close()


def test_a_burst_of_pipelined_requests_is_answered_up_to_the_limit(agent, hub, fake_api):
    fake_api.api.sleep_for = 0.2
    n = 1500  # in one write, behind a slow one: more than the hub keeps waiting
    s = _connect(hub)
    s.sendall(_get("/clusters/c1/sleep", hub.secret) + _get("/clusters/c1/_status", hub.secret) * n)
    s.settimeout(20)
    f = s.makefile("rb")
    waiting = http1.MAX_PIPELINED
    statuses = [_read_response(f)[0] for _ in range(1 + waiting + 1)]
    # The slow one and all that could wait are answered, in order; then a
    # clear error, and the connection closes instead of holding the rest.
    assert statuses == [200] * (1 + waiting) + [400]
    assert f.read() == b""
    s.close()


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
    assert b"transfer-encoding: chunked" not in lines and b"connection: close" in lines
    assert body.startswith(b"line 0\n")  # raw bytes, no chunk sizes
    s.close()


def _send_endless(s, start: bytes, megabytes: int = 8) -> None:
    s.sendall(start)
    for _ in range(megabytes):  # read and dropped by the hub once it has answered
        s.sendall(b"a" * (1 << 20))


def test_an_endless_header_is_cut_off_early(agent, hub):
    s = _connect(hub)
    _send_endless(s, b"GET /healthz HTTP/1.1\r\nHost: hub\r\nX-Big: ")
    s.settimeout(10)
    f = s.makefile("rb")
    status, headers, _ = _read_response(f)
    assert status == 431 and headers["connection"] == "close"
    assert f.read() == b""
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


def test_a_malformed_request_behind_one_in_flight_is_answered_after_it(agent, hub, fake_api):
    fake_api.api.sleep_for = 0.3
    s = _connect(hub)
    s.sendall(_get("/clusters/c1/sleep", hub.secret) + b"BROKEN\r\n\r\n")
    s.settimeout(10)
    f = s.makefile("rb")
    status, _, body = _read_response(f)
    assert status == 200 and json.loads(body) == {"slept": 0.3}
    assert _read_response(f)[0] == 400
    assert f.read() == b""
    s.close()


async def _agent_streams(hub):
    return sum(len(c.streams) for c in hub.connections)


async def _gateway_connections(hub):
    srv = hub._internal_server
    return [(c.transport.get_write_buffer_size() if c.transport else 0, c.reading_paused) for c in srv.connections]


def test_a_broken_chunk_in_an_upload_under_way_is_a_400_and_resets_the_agent_side(agent, hub):
    s = _connect(hub)
    s.sendall(
        f"POST /clusters/c1/upload HTTP/1.1\r\nHost: hub\r\nX-Hub-Secret: {hub.secret}\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n".encode()
    )
    wait_until(lambda: hub.call(_agent_streams(hub.hub)) == 1, what="the upload's stream")
    s.sendall(b"zz\r\nnot a chunk\r\n")
    s.settimeout(10)
    f = s.makefile("rb")
    status, headers, body = _read_response(f)
    assert status == 400 and b"chunk" in body and headers["connection"] == "close"
    wait_until(lambda: hub.call(_agent_streams(hub.hub)) == 0, what="the stream reset")
    s.close()


def test_half_sent_heads_and_quiet_early_answered_uploads_are_swept(agent, hub, monkeypatch):
    monkeypatch.setattr(http1, "IDLE_TIMEOUT", 0.5)
    hub.call(_restart_sweeper(hub.hub))
    half = _connect(hub)
    half.sendall(b"GET /clusters/c1/api HTTP/1.1\r\nHost: hub\r\nX-Par")
    upload = _connect(hub)
    upload.sendall(b"POST /clusters/c1/upload HTTP/1.1\r\nHost: hub\r\nContent-Length: 100000\r\n\r\nabc")  # streamed: answered at its head
    f = upload.makefile("rb")
    assert _read_response(f)[0] == 401  # then the client goes quiet mid-body
    half.settimeout(5)
    upload.settimeout(5)
    assert half.recv(100) == b""
    assert f.read() == b""
    half.close()
    upload.close()


def test_requests_after_a_dropped_oversized_body_are_not_run(agent, hub, monkeypatch):
    monkeypatch.setattr(http1, "LINGER_LIMIT", 1000)
    before = json.loads(urllib_get(f"{hub.internal_url}/clusters/c1/_status", hub.secret))["connections"]
    s = _connect(hub)
    # An early-answered body bigger than the hub will read, then (same write)
    # a request that would disconnect the cluster: the hub must stop at the
    # body, not run what follows.
    body = b"x" * 5000
    s.sendall(
        b"POST /clusters/c1/upload HTTP/1.1\r\nHost: hub\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n%b\r\n0\r\n\r\n" % (len(body), body)
        + f"POST /clusters/c1/_disconnect HTTP/1.1\r\nHost: hub\r\nX-Hub-Secret: {hub.secret}\r\nContent-Length: 0\r\n\r\n".encode()
    )
    s.settimeout(10)
    f = s.makefile("rb")
    assert _read_response(f)[0] == 401
    assert f.read() == b""
    after = json.loads(urllib_get(f"{hub.internal_url}/clusters/c1/_status", hub.secret))["connections"]
    assert [c["id"] for c in after] == [c["id"] for c in before]  # the disconnect never ran
    s.close()


def urllib_get(url: str, secret: str) -> bytes:
    import urllib.request

    return urllib.request.urlopen(urllib.request.Request(url, headers={"X-Hub-Secret": secret}), timeout=10).read()


def test_an_endless_trailer_is_cut_off_early(agent, hub):
    s = _connect(hub)
    _send_endless(
        s,
        f"POST /clusters/c1/upload HTTP/1.1\r\nHost: hub\r\nX-Hub-Secret: {hub.secret}\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n0\r\nX-Trailer: ".encode(),
    )
    s.settimeout(10)
    f = s.makefile("rb")
    status, _, body = _read_response(f)
    assert status == 431 and b"trailers" in body
    assert f.read() == b""
    wait_until(lambda: hub.call(_agent_streams(hub.hub)) == 0, what="the upload's stream reset")
    s.close()


def test_large_pipelined_bodies_do_not_count_against_the_next_head(agent, hub):
    s = _connect(hub)
    body = b"x" * 60_000
    post = f"POST /clusters/c1/echo HTTP/1.1\r\nHost: hub\r\nX-Hub-Secret: {hub.secret}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    # A legitimate 40 KB head (under the 64 KiB limit) that trickles in after them.
    last = f"GET /clusters/c1/echo HTTP/1.1\r\nHost: hub\r\nX-Hub-Secret: {hub.secret}\r\n".encode()
    last += b"".join(b"X-Pad-%03d: %s\r\n" % (i, b"p" * 1000) for i in range(40)) + b"\r\n"
    s.sendall(post * 8 + last[:50])
    for i in range(50, len(last), 4000):
        time.sleep(0.01)
        s.sendall(last[i : i + 4000])
    s.settimeout(10)
    f = s.makefile("rb")
    answers = [_read_response(f) for _ in range(9)]
    assert [a[0] for a in answers] == [200] * 9
    assert [json.loads(a[2])["body_len"] for a in answers] == [len(body)] * 8 + [0]
    s.close()


def test_a_client_that_does_not_read_its_answers_is_not_buffered_for(agent, hub):
    s = _connect(hub)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    request = b"GET /clusters/c1/x HTTP/1.1\r\nHost: hub\r\n\r\n"  # 401 each, at once
    s.settimeout(0.5)
    sent = 0
    try:
        for _ in range(200):
            s.sendall(request * 2000)
            sent += len(request) * 2000
    except socket.timeout:
        pass  # the hub stopped reading: what we wanted
    assert sent < 20_000_000
    time.sleep(0.3)
    # Answers waiting for the client stay bounded (the hub reads again only
    # as the client takes them, so a snapshot may catch it either way).
    buffers = hub.call(_gateway_connections(hub.hub))
    assert buffers and max(size for size, _ in buffers) < 2_000_000
    s.close()


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


@pytest.mark.parametrize("sent", [b"abcdefgh", b"ab"], ids=["longer", "shorter"])
def test_an_agent_body_of_another_length_than_announced_never_reaches_the_next_answer(hub, sent):
    """A faulty agent must not be able to spill bytes into (or swallow) the
    next answer on the console's kept-alive connection."""
    import asyncio

    import aiohttp

    from cceone.hub import protocol as p

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
    wait_until(lambda: json.loads(urllib_get(f"{hub.internal_url}/clusters/c2/_status", hub.secret))["connected"], what="fake agent")
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


def test_agent_pool_start_with_an_unencodable_header_sends_nothing_and_keeps_no_connection(fake_api):
    import asyncio

    from cceone_agent.http1 import Pool

    async def scenario():
        pool = Pool(fake_api.url)
        first = await pool.request("GET", "/version", [])
        await first.read()
        taken = pool._idle[-1]
        # The callback path must fall back (None), not raise into the tunnel
        # or leave the taken connection attached to a dead response.
        started = pool.start("GET", "/version", [("X-Name", "\u20ac")])
        again = await pool.request("GET", "/version", [])
        body = await again.read()
        pool.close()
        return started, taken.closed, taken.resp, json.loads(body)["major"]

    started, closed, attached, major = asyncio.run(scenario())
    assert started is None and closed and attached is None and major == "1"

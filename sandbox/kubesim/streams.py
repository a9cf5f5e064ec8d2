"""exec, attach and port-forward on sandbox pods, in the protocols kubectl speaks.

* exec / attach: a WebSocket with the channel protocol (`v5.channel.k8s.io`,
  `v4.channel.k8s.io`): every binary message starts with its channel — 0
  stdin, 1 stdout, 2 stderr, 3 error (a `Status` that also carries the exit
  code), 4 terminal resize; v5 adds 255, "the client closed channel N".
* port-forward: SPDY/3.1 tunnelled in a WebSocket
  (`SPDY/3.1+portforward.k8s.io`, kubectl >= 1.31): per connection the client
  opens an error and a data stream carrying `port` and `requestID` headers;
  behind every declared container port answers a tiny HTTP responder.

Older clients (or kubectl with KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false /
KUBECTL_PORT_FORWARD_WEBSOCKETS=false) upgrade to plain SPDY/3.1: exec and
attach then use one stream per channel (`streamtype` header, protocol
`v4.channel.k8s.io`), port-forward the same streams as in the tunnel.
What runs inside is the built-in command set of shell.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from . import shell, spdy
from .errors import ApiError, bad_request

if TYPE_CHECKING:
    from .emulator import Emulator

log = logging.getLogger("sandbox.kubesim.streams")

CHANNEL_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
SPDY_EXEC_PROTOCOLS = ("v4.channel.k8s.io",)
PORT_FORWARD_PROTOCOLS = ("SPDY/3.1+portforward.k8s.io",)
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
_TRUE = ("1", "true", "True")
_BYTES_PATH = "/bytes/"  # GET /bytes/<n> on a forwarded port: n bytes (throughput tests)
_MAX_BYTES = 1 << 30


class Streams:
    def __init__(self, emulator: "Emulator") -> None:
        self.emu = emulator
        self.filesystems: dict[tuple[str, str, str], shell.FileSystem] = {}

    # -- helpers --------------------------------------------------------------------------
    def _lookup(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        rt = self.emu.registry.lookup("", "v1", plural)
        return self.emu.ops.store.get(rt.key, namespace, name) if rt is not None else None

    def _container(self, pod: dict[str, Any], name: str, what: str) -> dict[str, Any]:
        spec = pod.get("spec") or {}
        containers = spec.get("containers") or []
        pod_name = (pod.get("metadata") or {}).get("name", "")
        if not name:
            if len(containers) != 1:
                raise bad_request(f"a container name must be specified for pod {pod_name}, choose one of: "
                                  f"[{' '.join(c.get('name', '') for c in containers)}]")
            return containers[0]
        for c in containers + (spec.get("ephemeralContainers") or []):
            if c.get("name") == name:
                return c
        raise bad_request(f"container {name} is not valid for pod {pod_name}")

    def _running(self, pod: dict[str, Any], what: str) -> None:
        phase = (pod.get("status") or {}).get("phase", "")
        if phase in ("Succeeded", "Failed"):
            raise bad_request(f"cannot {what} a container in a completed pod; current phase is {phase}")
        if phase != "Running":
            raise bad_request(f"unable to upgrade connection: pod {pod['metadata']['name']} is {phase or 'Pending'}, "
                              "not running")

    def _box(self, pod: dict[str, Any], container: dict[str, Any]) -> shell.Container:
        meta = pod["metadata"]
        key = (meta.get("namespace", ""), meta.get("name", ""), container.get("name", ""))
        fs = self.filesystems.setdefault(key, shell.FileSystem())
        return shell.Container(pod, container, fs, self._lookup)

    # -- exec and attach ------------------------------------------------------------------
    async def exec(self, request: web.Request, pod: dict[str, Any], attach: bool = False) -> web.StreamResponse:
        q = request.query
        what = "attach to" if attach else "exec into"
        container = self._container(pod, q.get("container", ""), what)
        self._running(pod, what)
        command = q.getall("command", [])
        if not attach and not command:
            raise bad_request("you must specify at least 1 command")
        tty, stdin = q.get("tty") in _TRUE, q.get("stdin") in _TRUE
        if _is_spdy(request):
            wanted = {"error", "stdout"} | ({"stdin"} if stdin else set()) | ({"resize"} if tty else {"stderr"})
            if q.get("stdout") not in _TRUE:
                wanted.discard("stdout")
            connection = await _SpdyConnection.accept(request, SPDY_EXEC_PROTOCOLS)
            session: Any = await _SpdySession.open(connection, wanted, tty=tty, stdin=stdin)
            box = self._box(pod, container)
            try:
                if attach:
                    await self._attach(session, box, pod, container)
                else:
                    await self._exec(session, box, command)
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                await connection.close()
            return connection.response
        ws = web.WebSocketResponse(protocols=CHANNEL_PROTOCOLS, autoping=True, max_msg_size=16 * 1024 * 1024)
        if not ws.can_prepare(request).ok:
            raise bad_request("Upgrade request required")
        await ws.prepare(request)
        session = _Session(ws, tty=tty, stdin=stdin)
        box = self._box(pod, container)
        try:
            if attach:
                await self._attach(session, box, pod, container)
            else:
                await self._exec(session, box, command)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            session.stop()
            with contextlib.suppress(Exception):
                await ws.close()
        return ws

    async def _exec(self, session: "_Session", box: shell.Container, command: list[str]) -> None:
        if session.tty and session.stdin and command[0] in shell.SHELLS:
            if not box.has_shell:
                return await session.finish(_runtime_error(command[0]))
            return await session.finish(await _interactive(session, box))
        stdin = await session.read_all() if session.stdin else b""
        process = shell.Process(box, stdin)
        try:
            code = process.run_argv(command)
        except shell.NotFoundInImage as e:
            return await session.finish(_runtime_error(str(e)))
        await session.output(bytes(process.out), bytes(process.err))
        await session.finish(_exit_status(code, command))

    async def _attach(self, session: "_Session", box: shell.Container, pod: dict[str, Any],
                      container: dict[str, Any]) -> None:
        """The container's main process: a shell reading stdin if the container keeps stdin
        open (`stdin: true`, as `kubectl run -i` makes it), else its output as it comes."""
        if session.stdin and container.get("stdin") and box.has_shell:
            return await session.finish(await _interactive(session, box, prompt=session.tty))
        meta = pod["metadata"]
        logs = self.emu.logs
        _, follower = logs.follow(asyncio.get_running_loop(), meta["namespace"], meta["name"], container["name"])
        reader = asyncio.ensure_future(session.read_all())
        try:
            while not reader.done():
                getter = asyncio.ensure_future(follower.queue.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                item = getter.result()
                if item is None:
                    break
                await session.output((item[1] + "\n").encode(), b"")
        finally:
            reader.cancel()
            logs.unfollow(meta["namespace"], meta["name"], container["name"], follower)

    # -- port-forward ---------------------------------------------------------------------
    async def port_forward(self, request: web.Request, pod: dict[str, Any]) -> web.StreamResponse:
        self._running(pod, "forward ports of")
        if _is_spdy(request):
            connection = await _SpdyConnection.accept(request, ("portforward.k8s.io",))
            on_stream, tasks = _port_forwarder(pod)
            connection.session.on_stream = on_stream
            try:
                await connection.closed.wait()
            finally:
                for task in list(tasks):
                    task.cancel()
                await connection.close()
            return connection.response
        ws = web.WebSocketResponse(protocols=PORT_FORWARD_PROTOCOLS, autoping=True, max_msg_size=16 * 1024 * 1024)
        ready = ws.can_prepare(request)
        if not ready.ok or ready.protocol not in PORT_FORWARD_PROTOCOLS:
            raise bad_request(f"port-forward needs a WebSocket with the {PORT_FORWARD_PROTOCOLS[0]} subprotocol")
        await ws.prepare(request)
        on_stream, tasks = _port_forwarder(pod)

        async def send(data: bytes) -> None:
            await ws.send_bytes(data)

        session = spdy.Session(send, on_stream)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.BINARY:
                    await session.feed(msg.data)
                elif msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            session.end()
            for task in list(tasks):
                task.cancel()
            with contextlib.suppress(Exception):
                await ws.close()
        return ws


def _port_forwarder(pod: dict[str, Any]):
    """(on_stream, tasks): pairs each connection's error and data streams and serves them."""
    declared = {int(p["containerPort"]) for c in (pod.get("spec") or {}).get("containers") or []
                for p in c.get("ports") or [] if str(p.get("containerPort", "")).isdigit()}
    pairs: dict[str, dict[str, spdy.Stream]] = {}
    tasks: set[asyncio.Task] = set()

    def on_stream(stream: spdy.Stream) -> None:
        pair = pairs.setdefault(stream.headers.get("requestid", ""), {})
        pair[stream.headers.get("streamtype", "")] = stream
        if "data" in pair and "error" in pair:
            pairs.pop(stream.headers.get("requestid", ""), None)
            task = asyncio.ensure_future(_forward(pod, declared, pair["data"], pair["error"]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    return on_stream, tasks


def _is_spdy(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").strip().lower().startswith("spdy/3.1") and \
        "upgrade" in request.headers.get("Connection", "").lower()


class _SpdyConnection:
    """A plain SPDY/3.1 upgrade (kubectl before 1.31, or with the WebSocket features off):
    after our 101 the connection's bytes are taken from aiohttp's parser and fed to a
    spdy.Session."""

    def __init__(self, request: web.Request, response: web.StreamResponse):
        self.request = request
        self.response = response
        self.transport = request.transport
        self.closed = asyncio.Event()
        self.inbox: asyncio.Queue[bytes] = asyncio.Queue()
        self.session = spdy.Session(self._send, lambda stream: None)
        self._pump = asyncio.ensure_future(self._feed())

    @classmethod
    async def accept(cls, request: web.Request, protocols: tuple[str, ...]) -> "_SpdyConnection":
        offered = [p.strip() for value in request.headers.getall("X-Stream-Protocol-Version", [])
                   for p in value.split(",")]
        chosen = next((p for p in offered if p in protocols), None)
        if offered and chosen is None:
            raise ApiError(403, "Forbidden", f"unable to upgrade: unable to negotiate protocol: client supports "
                           f"{offered}, server supports {list(protocols)}")
        headers = {"Connection": "Upgrade", "Upgrade": "SPDY/3.1"}
        if chosen:
            headers["X-Stream-Protocol-Version"] = chosen
        response = web.StreamResponse(status=101, headers=headers)
        response.force_close()
        connection = cls(request, response)
        request.protocol.set_parser(_Feeder(connection))  # before the 101: frames may follow at once
        await response.prepare(request)
        return connection

    async def _send(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise ConnectionResetError("client went away")
        self.transport.write(data)
        if self.transport.get_write_buffer_size() > 1 << 20:
            await self.request.writer.drain()

    async def _feed(self) -> None:
        try:
            while data := await self.inbox.get():
                await self.session.feed(data)
        except (ConnectionError, ValueError, Exception):  # a broken peer ends its own connection only
            pass
        finally:
            self.session.end()
            self.closed.set()

    async def close(self) -> None:
        self._pump.cancel()
        self.session.end()
        if self.transport is not None:
            self.transport.close()


class _Feeder:
    """aiohttp's payload-parser slot: raw bytes of the upgraded connection."""

    def __init__(self, connection: "_SpdyConnection"):
        self.connection = connection

    def feed_data(self, data) -> tuple[bool, bytes]:
        self.connection.inbox.put_nowait(bytes(data))
        return False, b""

    def feed_eof(self) -> None:
        self.connection.inbox.put_nowait(b"")


class _SpdySession:
    """exec/attach over SPDY: one stream per channel, named by its `streamtype` header."""

    CHANNELS = {"stdin": STDIN, "stdout": STDOUT, "stderr": STDERR, "error": ERROR, "resize": RESIZE}

    def __init__(self, connection: _SpdyConnection, streams: dict[str, spdy.Stream], tty: bool, stdin: bool):
        self.connection = connection
        self.streams = streams
        self.tty = tty
        self.stdin = stdin
        self.size = (80, 24)
        self.input: asyncio.Queue[bytes] = asyncio.Queue()
        self._tasks = [asyncio.ensure_future(self._pipe_stdin())]
        if "resize" in streams:
            self._tasks.append(asyncio.ensure_future(self._resizes()))

    @classmethod
    async def open(cls, connection: _SpdyConnection, wanted: set[str], tty: bool, stdin: bool) -> "_SpdySession":
        streams: dict[str, spdy.Stream] = {}
        ready = asyncio.Event()

        def on_stream(stream: spdy.Stream) -> None:
            streams[stream.headers.get("streamtype", "")] = stream
            if wanted <= set(streams):
                ready.set()

        connection.session.on_stream = on_stream
        await asyncio.wait_for(ready.wait(), 30)
        return cls(connection, streams, tty, stdin)

    async def _pipe_stdin(self) -> None:
        stream = self.streams.get("stdin")
        if stream is None:
            self.input.put_nowait(b"")
            return
        while chunk := await stream.data.get():
            self.input.put_nowait(chunk)
        self.input.put_nowait(b"")

    async def _resizes(self) -> None:
        decoder, buffer = json.JSONDecoder(), ""
        while chunk := await self.streams["resize"].data.get():
            buffer += chunk.decode(errors="replace")
            while buffer.strip():
                try:
                    size, end = decoder.raw_decode(buffer.lstrip())
                except ValueError:
                    break
                buffer = buffer.lstrip()[end:]
                self.size = (int(size.get("Width", 80)), int(size.get("Height", 24)))

    async def read(self) -> bytes:
        return await self.input.get()

    async def read_all(self) -> bytes:
        data = bytearray()
        while chunk := await self.input.get():
            data += chunk
        return bytes(data)

    async def write(self, channel: int, data: bytes) -> None:
        name = next(n for n, c in self.CHANNELS.items() if c == channel)
        stream = self.streams.get(name) or self.streams.get("stdout")
        if stream is not None and data:
            await stream.write(data)

    async def finish(self, status: dict[str, Any]) -> None:
        error = self.streams.get("error")
        if error is not None:
            await error.write(json.dumps(status).encode())
        for stream in self.streams.values():
            await stream.close()
        for task in self._tasks:
            task.cancel()


class _Session:
    """The client's side of one exec/attach WebSocket, by channel."""

    def __init__(self, ws: web.WebSocketResponse, tty: bool, stdin: bool):
        self.ws = ws
        self.tty = tty
        self.stdin = stdin
        self.v5 = ws.ws_protocol == "v5.channel.k8s.io"
        self.input: asyncio.Queue[bytes] = asyncio.Queue()  # b"": stdin closed
        self.size = (80, 24)
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type != WSMsgType.BINARY or not msg.data:
                    continue
                channel, data = msg.data[0], msg.data[1:]
                if channel == STDIN and data:
                    self.input.put_nowait(bytes(data))
                elif channel == RESIZE:
                    with contextlib.suppress(ValueError, TypeError):
                        size = json.loads(data)
                        self.size = (int(size.get("Width", 80)), int(size.get("Height", 24)))
                elif channel == CLOSE and data[:1] == bytes([STDIN]):
                    self.input.put_nowait(b"")
        finally:
            self.input.put_nowait(b"")

    async def read(self) -> bytes:
        return await self.input.get()

    async def read_all(self) -> bytes:
        data = bytearray()
        while chunk := await self.input.get():
            data += chunk
        return bytes(data)

    async def write(self, channel: int, data: bytes) -> None:
        for i in range(0, len(data), 1 << 20):
            await self.ws.send_bytes(bytes([channel]) + data[i:i + (1 << 20)])

    async def output(self, out: bytes, err: bytes) -> None:
        if self.tty:
            # A terminal turns \n into \r\n and has no separate stderr.
            out = (out + err).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            err = b""
        if out:
            await self.write(STDOUT, out)
        if err:
            await self.write(STDERR, err)

    async def finish(self, status: dict[str, Any]) -> None:
        await self.write(ERROR, json.dumps(status).encode())

    def stop(self) -> None:
        self._reader.cancel()


_SpdySession.output = _Session.output  # the same terminal rules: \r\n, no stderr on a TTY


def _exit_status(code: int, command: list[str]) -> dict[str, Any]:
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {"metadata": {}, "status": "Failure",
            "message": f"command terminated with non-zero exit code: error executing command {command}, "
                       f"exit code {code}",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


def _runtime_error(name: str) -> dict[str, Any]:
    """What a container runtime answers for a command missing from the image."""
    return {"metadata": {}, "status": "Failure", "reason": "InternalError", "code": 500,
            "message": f'Internal error occurred: error executing command in container: failed to exec in '
                       f'container: OCI runtime exec failed: exec failed: unable to start container process: '
                       f'exec: "{name}": executable file not found in $PATH: unknown',
            "details": {"causes": [{"message": f'exec: "{name}": executable file not found in $PATH'}]}}


async def _interactive(session: _Session, box: shell.Container, prompt: bool = True) -> dict[str, Any]:
    """A shell on a terminal: echo, line editing, one command per Enter; `exit` or Ctrl-D ends it."""
    cwd = "/"
    line = bytearray()
    code = 0
    escape = 0
    tty = session.tty

    async def show_prompt():
        if prompt:
            await session.write(STDOUT, f"{cwd} # ".encode())

    await show_prompt()
    while True:
        data = await session.read()
        if not data:
            return _exit_status(code, ["sh"])
        for byte in data:
            if escape:  # ESC [ A and the like (arrow keys): ignored
                escape = 0 if (escape == 2 and 0x40 <= byte <= 0x7E) else 2 if byte == 0x5B else 0
                continue
            if byte == 0x1B:
                escape = 1
            elif byte in (0x0D, 0x0A):
                if tty:
                    await session.write(STDOUT, b"\r\n")
                # What a shell learns from SIGWINCH: the terminal's size, for `echo $COLUMNS`.
                box.env["COLUMNS"], box.env["LINES"] = str(session.size[0]), str(session.size[1])
                process = shell.Process(box, cwd=cwd)
                code = process.run_line(line.decode(errors="replace"))
                cwd = process.cwd
                line.clear()
                await session.output(bytes(process.out), bytes(process.err))
                if process.exited:
                    return _exit_status(code, ["sh"])
                await show_prompt()
            elif byte in (0x7F, 0x08):
                if line:
                    line.pop()
                    if tty:
                        await session.write(STDOUT, b"\b \b")
            elif byte == 0x03:  # Ctrl-C
                line.clear()
                if tty:
                    await session.write(STDOUT, b"^C\r\n")
                await show_prompt()
            elif byte == 0x04:  # Ctrl-D on an empty line
                if not line:
                    if tty:
                        await session.write(STDOUT, b"\r\n")
                    return _exit_status(code, ["sh"])
            elif byte >= 0x20 or byte == 0x09:
                line.append(byte)
                if tty:
                    await session.write(STDOUT, bytes([byte]))


async def _forward(pod: dict[str, Any], declared: set[int], data: spdy.Stream, error: spdy.Stream) -> None:
    """One forwarded connection: a tiny HTTP/1.1 responder behind the port, if one is declared."""
    name = pod["metadata"]["name"]
    try:
        port = int(data.headers.get("port", "0"))
    except ValueError:
        port = 0
    try:
        if port not in declared:
            await error.write(f"error forwarding port {port} to pod {name}, uid {pod['metadata'].get('uid', '')}: "
                              f"no container of the pod declares port {port}".encode())
            return
        buffer = bytearray()
        while True:
            chunk = await data.data.get()
            if not chunk:
                return
            buffer += chunk
            while b"\r\n\r\n" in buffer:
                head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
                length = int(headers.get("content-length", "0") or 0)
                while len(rest) < length:
                    more = await data.data.get()
                    if not more:
                        return
                    rest += more
                buffer = bytearray(rest[length:])
                parts = lines[0].split(" ")
                method, path = (parts + ["", ""])[:2]
                await _answer(data, name, port, method, path)
                if headers.get("connection", "").lower() == "close":
                    return
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            await data.close()
            await error.close()


async def _answer(stream: spdy.Stream, pod: str, port: int, method: str, path: str) -> None:
    if path.startswith(_BYTES_PATH) and path[len(_BYTES_PATH):].isdigit():
        size = min(int(path[len(_BYTES_PATH):]), _MAX_BYTES)
        await stream.write(f"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                           f"Content-Length: {size}\r\n\r\n".encode())
        block = b"x" * spdy.MAX_DATA
        sent = 0
        while sent < size:
            n = min(len(block), size - sent)
            await stream.write(block[:n])
            sent += n
        return
    body = f"Hello from pod {pod} on port {port}: {method} {path}\n".encode()
    await stream.write(f"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       f"Content-Length: {len(body)}\r\n\r\n".encode() + body)


__all__ = ["Streams", "ApiError"]

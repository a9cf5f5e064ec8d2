"""Following a container's log as server-sent events, one `data:` per line."""
import queue
import re
import socket
import threading
import time

from django.conf import settings
from django.utils.translation import gettext as _


# An event stream ends a line at \r\n, \n or a bare \r: a log line's \r left inside a
# `data:` line would let the container write its own fields and events (an `end` for
# everyone following it). Each piece becomes its own `data:` line; the reader gets it back
# joined with \n.
_SSE_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _sse(data: str, event: str | None = None) -> str:
    lines = "".join(f"data: {line}\n" for line in _SSE_LINE_BREAK.split(data))
    return (f"event: {event}\n" if event else "") + lines + "\n"


sse = _sse  # one server-sent event (the web terminal's stream uses it too)


def follow(upstream, failure: str | None):
    """The events of a log follow: each line of `upstream` (a urllib3 response streaming
    the container's log) as it arrives, or `failure` when it could not be opened.

    A reader thread pulls the upstream stream into a queue; a keep-alive comment goes out
    when nothing arrived for a while, which is how a gone client is noticed (the write
    fails and the server closes this generator). Closing it closes the upstream stream;
    it ends by itself after CCEONE_LOG_FOLLOW_MAX_SECONDS.
    """
    if upstream is None:
        yield _sse(failure, "failure")
        yield _sse("", "end")
        return
    keepalive = float(getattr(settings, "CCEONE_LOG_FOLLOW_KEEPALIVE", 15))
    deadline = time.monotonic() + float(getattr(settings, "CCEONE_LOG_FOLLOW_MAX_SECONDS", 1800))
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(upstream, lines), daemon=True)
    reader.start()
    try:
        yield ": connected\n\n"
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                yield _sse(_("The log stream reached its maximum duration; follow again to continue."), "end")
                return
            try:
                line = lines.get(timeout=min(keepalive, remaining))
            except queue.Empty:
                yield ": keep-alive\n\n"
                continue
            if line is None:
                yield _sse(_("The container's log stream ended."), "end")
                return
            yield _sse(line)
    finally:
        _close(upstream)


def _read_lines(upstream, lines: queue.Queue) -> None:
    buffer = b""
    try:
        for chunk in upstream.stream(4096, decode_content=True):
            buffer += chunk
            *complete, buffer = buffer.split(b"\n")
            for line in complete:
                lines.put(line.decode(errors="replace").rstrip("\r"))
        if buffer:
            lines.put(buffer.decode(errors="replace"))
    except Exception:  # noqa: BLE001 - the stream was closed (client gone) or broke: end it
        pass
    lines.put(None)


def _close(upstream) -> None:
    """End the upstream follow: shut its socket down (waking the reader), then release it."""
    try:
        connection = getattr(upstream, "connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        upstream.close()
    except Exception:  # noqa: BLE001
        pass

"""Per-stream flow control and item hand-over, the same on both ends of the tunnel.

Each side of a stream grants its peer a window (protocol.DEFAULT_WINDOW, or
the hub's SETTINGS) for the body bytes it will buffer. A sender spends
`credit` and waits when it is gone; a receiver counts what it was sent
against `recv_credit` (more than granted is a protocol error) and returns
credit only for bytes its consumer has taken (`consumed`), so a consumer
that stops reading stops the sender after one window.

The connection's reader hands items to the stream (`put`) without ever
awaiting: if it awaited a send, a peer that stopped reading could wedge
both directions. The consumer, a task, awaits them (`get`).
"""

from __future__ import annotations

import asyncio
from collections import deque

from . import protocol as p


class StreamBroken(Exception):
    """The stream ended abnormally (RESET from the peer, or the connection is lost)."""


class Stream:
    __slots__ = (
        "sid", "window", "credit", "recv_credit", "buffered", "unacked", "finished", "_items", "_waiter", "_credit_waiter",
    )

    def __init__(self, sid: int, window: int):
        self.sid = sid
        self.window = window
        self.credit = window  # body bytes we may still send
        self.recv_credit = window  # body bytes the peer may still send
        self.buffered = 0  # body bytes received and not yet consumed
        self.unacked = 0  # bytes consumed but not yet returned to the peer as credit
        self.finished = False  # END or RESET seen, or connection lost
        self._items: deque = deque()
        self._waiter: asyncio.Future | None = None
        self._credit_waiter: asyncio.Future | None = None

    # -- receiving (the reader) ------------------------------------------------------
    def received(self, n: int) -> None:
        """Count `n` body bytes from the peer against the window we granted."""
        self.recv_credit -= n
        self.buffered += n
        if self.recv_credit < 0:
            raise p.ProtocolError(f"stream {self.sid} exceeded its flow-control window")

    def put(self, item) -> None:
        self._items.append(item)
        _wake(self._waiter)

    def end(self) -> None:
        """No more credit will come (RESET, connection lost): a waiting sender gives up."""
        self.finished = True
        _wake(self._credit_waiter)

    def add_credit(self, n: int) -> None:
        self.credit += n
        _wake(self._credit_waiter)

    # -- consuming (the stream's task) -----------------------------------------------
    async def get(self):
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()

    def consumed(self, n: int) -> int:
        """Record `n` bytes taken by the consumer; returns the WINDOW increment
        to send now, or 0.

        Batched to a quarter window: one WINDOW per chunk would double the
        frame count, while a quarter still keeps the sender's pipe full.
        """
        self.buffered -= n
        self.unacked += n
        if self.unacked < self.window >> 2 or self.finished:
            return 0
        inc, self.unacked = self.unacked, 0
        self.recv_credit += inc
        return inc

    def grow(self, window: int) -> int:
        """Raise the window we grant the peer to `window` (an upgraded connection, whose
        bulk bytes need more in flight than a request body); returns the WINDOW increment
        to send now, or 0."""
        inc = window - self.window
        if inc <= 0:
            return 0
        self.window = window
        self.recv_credit += inc
        return inc

    async def take_credit(self, want: int) -> int:
        """Wait for credit; spend and return up to `want` (at most MAX_DATA) bytes of it."""
        while self.credit <= 0:
            if self.finished:
                raise StreamBroken("stream closed while waiting for flow-control credit")
            self._credit_waiter = asyncio.get_running_loop().create_future()
            try:
                await self._credit_waiter
            finally:
                self._credit_waiter = None
        n = min(want, self.credit, p.MAX_DATA)
        self.credit -= n
        return n


def _wake(w: asyncio.Future | None) -> None:
    if w is not None and not w.done():
        w.set_result(None)

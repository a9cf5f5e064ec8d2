"""Refused agent connections: reported per source and minute, and rate-limited.

Reporting every refusal would let anyone on the internet write one audit row
per junk connection. Instead the first refusal of a source in a period is
reported at once (an operator sees it immediately) and the rest are added up
and reported as a count on the next reaper tick; the product folds them into
one row per source and minute. Past `limit` refusals in a period, a source is
answered 429 without even looking its token up.
"""

from __future__ import annotations

import asyncio
import logging
import time

log = logging.getLogger("cceone.hub")


class _Bucket:
    __slots__ = ("period", "count", "pending", "reason")

    def __init__(self, period: int):
        self.period = period
        self.count = 0  # refusals in this period
        self.pending = 0  # not yet reported to the directory
        self.reason = ""


class Refusals:
    def __init__(self, directory, limit: int = 20, period: float = 60.0):
        self.directory = directory
        self.limit = limit
        self.period = period
        self._buckets: dict[str, _Bucket] = {}

    def _bucket(self, remote: str) -> _Bucket:
        now = int(time.monotonic() // self.period)
        b = self._buckets.get(remote)
        if b is None or b.period != now:
            if b is not None and b.pending:
                self._report(remote, b.reason, b.pending)
            b = self._buckets[remote] = _Bucket(now)
        return b

    def blocked(self, remote: str) -> bool:
        """Too many refusals from this source in the current period."""
        return self._bucket(remote).count >= self.limit

    async def refused(self, remote: str, reason: str) -> None:
        b = self._bucket(remote)
        b.count += 1
        b.reason = reason
        if b.count == 1:
            await self.directory.agent_refused(remote, reason, 1)
        else:
            b.pending += 1

    def flush(self) -> None:
        """Report the counts added up since the last flush (called every reaper tick)."""
        now = int(time.monotonic() // self.period)
        for remote, b in list(self._buckets.items()):
            if b.pending:
                self._report(remote, b.reason, b.pending)
                b.pending = 0
            if b.period != now:
                del self._buckets[remote]

    def _report(self, remote: str, reason: str, count: int) -> None:
        async def report():
            try:
                await self.directory.agent_refused(remote, reason, count)
            except Exception:  # auditing must not break the listener
                log.exception("directory.agent_refused(%s) failed", remote)

        asyncio.ensure_future(report())

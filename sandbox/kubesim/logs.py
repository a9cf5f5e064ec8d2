"""Container logs: seeded, appended by tests or the demo, and followed live.

Lines are kept per (namespace, pod, container, previous) with the time they
were written so ``timestamps``, ``sinceSeconds`` and ``tailLines`` behave
like the kubelet's. Followers are asyncio queues fed thread-safely because
tests append from the pytest thread while the server runs its own loop.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import threading
from typing import Any

LogKey = tuple[str, str, str, bool]  # namespace, pod, container, previous


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def rfc3339nano(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond:06d}000Z"


class Follower:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[tuple[dt.datetime, str] | None] = asyncio.Queue()

    def push(self, item: tuple[dt.datetime, str] | None) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:
            pass


def log_lines(text: str) -> list[str]:
    """A container runtime ends a log line at `\n` only: a `\r` (a progress bar's, or a
    hostile one) stays inside the line, as the kubelet serves it."""
    return text.removesuffix("\n").split("\n") if text else []


class LogStore:
    def __init__(self, max_lines: int = 20_000) -> None:
        self._lock = threading.Lock()
        self._lines: dict[LogKey, collections.deque[tuple[dt.datetime, str]]] = {}
        self._followers: dict[LogKey, set[Follower]] = collections.defaultdict(set)
        self._max = max_lines

    def append(self, namespace: str, pod: str, container: str, text: str, *, previous: bool = False,
               at: dt.datetime | None = None) -> None:
        lines = log_lines(text) or [""]
        key = (namespace, pod, container, previous)
        with self._lock:
            buf = self._lines.setdefault(key, collections.deque(maxlen=self._max))
            when = at or now()
            for line in lines:
                buf.append((when, line))
                for f in self._followers.get(key, ()):
                    f.push((when, line))

    def seed(self, namespace: str, pod: str, container: str, text: str, *, previous: bool = False,
             end: dt.datetime | None = None) -> None:
        """Add historic lines, one second apart, ending at ``end`` (default now)."""
        lines = log_lines(text)
        end = end or now()
        for i, line in enumerate(lines):
            self.append(namespace, pod, container, line, previous=previous,
                        at=end - dt.timedelta(seconds=len(lines) - 1 - i))

    def has(self, namespace: str, pod: str, container: str, previous: bool = False) -> bool:
        return (namespace, pod, container, previous) in self._lines

    def read(self, namespace: str, pod: str, container: str, previous: bool = False) -> list[tuple[dt.datetime, str]]:
        with self._lock:
            return list(self._lines.get((namespace, pod, container, previous), ()))

    def follow(self, loop: asyncio.AbstractEventLoop, namespace: str, pod: str, container: str,
               previous: bool = False) -> tuple[list[tuple[dt.datetime, str]], Follower]:
        """Current lines plus a follower for what comes next, atomically, so no line is lost or doubled."""
        key = (namespace, pod, container, previous)
        with self._lock:
            follower = Follower(loop)
            self._followers[key].add(follower)
            return list(self._lines.get(key, ())), follower

    def unfollow(self, namespace: str, pod: str, container: str, follower: Follower,
                 previous: bool = False) -> None:
        with self._lock:
            self._followers.get((namespace, pod, container, previous), set()).discard(follower)

    def forget_pod(self, namespace: str, pod: str) -> None:
        """The pod is gone: drop its logs and end its follow streams, like a terminated container's."""
        with self._lock:
            for key in [k for k in self._lines if k[0] == namespace and k[1] == pod]:
                del self._lines[key]
            for key in [k for k in self._followers if k[0] == namespace and k[1] == pod]:
                for f in self._followers.pop(key):
                    f.push(None)

    def close_all(self) -> None:
        with self._lock:
            for followers in self._followers.values():
                for f in followers:
                    f.push(None)
            self._followers.clear()

    def containers_with_logs(self) -> list[tuple[str, str, str]]:
        with self._lock:
            return sorted({(k[0], k[1], k[2]) for k in self._lines if not k[3]})


def seed_annotations(pod: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """``(container, text, previous)`` from ``kubesim/log[.container]`` and ``kubesim/previous-log[.container]``."""
    meta = pod.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    containers = [c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []]
    first = containers[0] if containers else ""
    out = []
    for key, value in annotations.items():
        for prefix, previous in (("kubesim/log", False), ("kubesim/previous-log", True)):
            if key == prefix:
                out.append((first, str(value), previous))
            elif key.startswith(prefix + "."):
                out.append((key[len(prefix) + 1:], str(value), previous))
    return out

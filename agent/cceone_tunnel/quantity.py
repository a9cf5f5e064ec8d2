"""Kubernetes resource quantities ("100m", "1Gi", "1e3") for the agent's heartbeats.

The console parses quantities with kubernetes.utils.parse_quantity; the agent
does not carry the Kubernetes client, so this is its one parser.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

_BIN = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DEC = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}


def parse_quantity(q) -> Decimal:
    """Kubernetes resource.Quantity string -> Decimal ('100m' -> 0.1, '1Gi' -> 1073741824)."""
    if isinstance(q, (int, float)):
        return Decimal(str(q))
    s = str(q).strip()
    if not s:
        raise ValueError("empty quantity")
    try:
        if s[-2:] in _BIN:
            return Decimal(s[:-2]) * _BIN[s[-2:]]
        if s[-1] in "numkMGTPE":  # "1e3"/"1E3" end in a digit, so no clash with exa
            return Decimal(s[:-1]) * _DEC[s[-1]]
        return Decimal(s)  # plain number or exponent form (1e3)
    except InvalidOperation:
        raise ValueError(f"invalid quantity {q!r}") from None


def cpu_millicores(q) -> int:
    return math.ceil(parse_quantity(q) * 1000)


def memory_bytes(q) -> int:
    return math.ceil(parse_quantity(q))

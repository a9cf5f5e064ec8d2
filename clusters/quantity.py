"""Kubernetes resource quantities ("500m", "8", "32Gi") as integers."""
from decimal import Decimal

_SUFFIX = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
}


def parse(quantity) -> Decimal:
    if quantity is None or quantity == "":
        return Decimal(0)
    text = str(quantity).strip()
    for suffix in sorted(_SUFFIX, key=len, reverse=True):
        if text.endswith(suffix):
            return Decimal(text[: -len(suffix)]) * Decimal(_SUFFIX[suffix])
    return Decimal(text)


def cpu_millicores(quantity) -> int:
    value = parse(quantity) * 1000
    return int(value.to_integral_value(rounding="ROUND_CEILING"))


def memory_bytes(quantity) -> int:
    return int(parse(quantity).to_integral_value(rounding="ROUND_CEILING"))

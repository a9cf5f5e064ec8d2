"""Request bodies in Kubernetes' protobuf encoding (``application/vnd.kubernetes.protobuf``).

client-go ≥ 1.33 sends built-in kinds this way by default (``kubectl create ns``,
``kubectl auth can-i``, the eviction of ``kubectl drain``...), and does not fall back to
JSON on a 415. The emulator decodes such a body into the object's JSON form and goes on
as for JSON; answers are JSON, which every client accepts alongside protobuf.

The wire format: the magic ``k8s\\0``, then a ``runtime.Unknown`` message whose ``raw``
is the object, encoded per Kubernetes' ``generated.proto`` (proto2). The field tables
come from those files (``protobuf_types.json``, made by ``tools/gen_protobuf.py``).
gogo-protobuf writes every non-pointer Go field, even at its zero value, which for such a
field is the same as absent: those zeros (``""``, ``0``, ``false``, empty structs) are
dropped, as Go's JSON encoder leaves them out; a pointer field set to zero stays.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import pathlib
import struct
from typing import Any

from .errors import ApiError, bad_request, unsupported_media_type

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
_UNKNOWN = "k8s.io.apimachinery.pkg.runtime.Unknown"
_META = "k8s.io.apimachinery.pkg.apis.meta.v1."
_TIME = {_META + "Time", _META + "MicroTime"}
_RAW_JSON = {_META + "FieldsV1", "k8s.io.apimachinery.pkg.runtime.RawExtension"}
_INT_OR_STRING = "k8s.io.apimachinery.pkg.util.intstr.IntOrString"
_QUANTITY = "k8s.io.apimachinery.pkg.api.resource.Quantity"
_DURATION = _META + "Duration"
# Go slice types that go-to-protobuf wraps in a message with one repeated ``items``.
_SLICES = {"ExtraValue", "Verbs"}
_GO_ZERO_TIME = -62135596800  # 0001-01-01T00:00:00Z, the zero time.Time
_SIGNED = {"int32", "int64"}
POINTER, INLINE = 1, 2  # field flags in protobuf_types.json
_ZIGZAG = {"sint32", "sint64"}


@functools.lru_cache(maxsize=1)
def _types() -> dict[str, dict[int, list]]:
    raw = json.loads((pathlib.Path(__file__).with_name("protobuf_types.json")).read_text())
    return {name: {f[0]: f[1:] for f in fields} for name, fields in raw.items()}


def is_protobuf(content_type: str) -> bool:
    return content_type == MEDIA_TYPE or content_type.startswith(MEDIA_TYPE + ";")


def message_for(api_version: str, kind: str) -> str | None:
    """The protobuf message of a built-in kind, or None (custom resources have none)."""
    group, _, version = api_version.rpartition("/")
    if group == "meta.k8s.io":
        name = f"{_META}{kind}"
    else:
        name = f"k8s.io.api.{group.split('.')[0] if group else 'core'}.{version}.{kind}"
    return name if name in _types() else None


def decode(raw: bytes) -> dict[str, Any]:
    """A protobuf request body as the JSON object it stands for; 415 for a kind without a message."""
    if not raw.startswith(MAGIC):
        raise bad_request("error decoding request body: provided data does not appear to be a protobuf message, "
                          "expected prefix [107 56 115 0]")
    try:
        envelope = _message(_UNKNOWN, raw[len(MAGIC):])
        type_meta = envelope.get("typeMeta") or {}
        api_version, kind = type_meta.get("apiVersion", ""), type_meta.get("kind", "")
        name = message_for(api_version, kind)
        if name is None:
            raise unsupported_media_type(["application/json", "application/yaml"])
        if envelope.get("contentEncoding") or envelope.get("contentType") not in (None, "", MEDIA_TYPE):
            raise bad_request("error decoding request body: unsupported content encoding")
        obj = _message(name, base64.b64decode(envelope.get("raw") or ""))
    except ApiError:
        raise
    except (IndexError, ValueError, KeyError, struct.error, UnicodeDecodeError) as e:
        raise bad_request(f"error decoding request body: {e}") from None
    return {"apiVersion": api_version, "kind": kind, **obj}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    """``(number, wire type, value)`` of each field: ints for varints, bytes otherwise."""
    out, pos = [], 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(data, pos)
            value, pos = data[pos:pos + size], pos + size
            if pos > len(data):
                raise ValueError("truncated message")
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        out.append((number, wire, value))
    return out


def _scalar(ftype: str, wire: int, value: Any) -> Any:
    if ftype == "string":
        return bytes(value).decode()
    if ftype == "bytes":
        return base64.b64encode(bytes(value)).decode()
    if ftype == "bool":
        return bool(value)
    if ftype in ("double", "fixed64"):
        return struct.unpack("<d" if ftype == "double" else "<Q", value)[0]
    if ftype in ("float", "fixed32"):
        return struct.unpack("<f" if ftype == "float" else "<I", value)[0]
    if ftype in _ZIGZAG:
        return (value >> 1) ^ -(value & 1)
    if ftype in _SIGNED and value >= 1 << 63:
        return value - (1 << 64)
    return value


def _packed(ftype: str, data: bytes) -> list[Any]:
    if ftype in ("double", "fixed64"):
        return [_scalar(ftype, 1, data[i:i + 8]) for i in range(0, len(data), 8)]
    if ftype in ("float", "fixed32"):
        return [_scalar(ftype, 5, data[i:i + 4]) for i in range(0, len(data), 4)]
    values, pos = [], 0
    while pos < len(data):
        value, pos = _varint(data, pos)
        values.append(_scalar(ftype, 0, value))
    return values


def _value(ftype: str, wire: int, value: Any) -> Any:
    if ftype in _types() or "." in ftype:
        return _message(ftype, value)
    return _scalar(ftype, wire, value)


def _message(name: str, data: bytes) -> Any:
    """One message as JSON, with the special forms of apimachinery's types."""
    fields = _types().get(name)
    if fields is None:
        raise unsupported_media_type(["application/json", "application/yaml"])
    out: dict[str, Any] = {}
    zero_means_absent: set[str] = set()
    for number, wire, value in _fields(bytes(data)):
        spec = fields.get(number)
        if spec is None:
            continue  # a newer field than we know: skipped, as proto2 readers do
        fname, label, ftype = spec[0], spec[1], spec[2]
        if spec[-1] & INLINE and name != _UNKNOWN:  # an embedded struct: its fields are the parent's in JSON
            inlined = _message(ftype, value)
            if isinstance(inlined, dict):
                out.update(inlined)
            continue
        if not spec[-1] & POINTER:
            zero_means_absent.add(fname)
        if label == "map":
            entry = {n: (w, v) for n, w, v in _fields(value)}
            key = _value(ftype, *entry[1]) if 1 in entry else ""
            item = _value(spec[3], *entry[2]) if 2 in entry else ("" if spec[3] == "string" else None)
            out.setdefault(fname, {})[key] = item
        elif label == "repeated":
            items = out.setdefault(fname, [])
            if wire == 2 and ftype not in ("string", "bytes") and "." not in ftype:
                items.extend(_packed(ftype, value))
            else:
                items.append(_value(ftype, wire, value))
        else:
            out[fname] = _value(ftype, wire, value)
    short = name.rsplit(".", 1)[1]
    if name in _TIME:
        seconds = out.get("seconds", 0)
        if seconds <= _GO_ZERO_TIME or not out:
            return None
        when = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
        if name.endswith("MicroTime"):
            return when.replace(microsecond=out.get("nanos", 0) // 1000).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    if name in _RAW_JSON:
        raw = base64.b64decode(out.get("raw") or out.get("Raw") or "")
        return json.loads(raw) if raw else None
    if name == _INT_OR_STRING:
        return out.get("strVal", "") if out.get("type") == 1 else out.get("intVal", 0)
    if name == _QUANTITY:
        return out.get("string", "")
    if name == _DURATION:
        return _go_duration(out.get("duration", 0))
    if short in _SLICES:
        return out.get("items", [])
    return {k: v for k, v in out.items() if k not in zero_means_absent or v not in ("", 0, False, None, {})}


def _go_duration(nanos: int) -> str:
    if nanos == 0:
        return "0s"
    sign, nanos = ("-", -nanos) if nanos < 0 else ("", nanos)
    hours, rest = divmod(nanos, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    seconds = f"{rest / 10**9:.9f}".rstrip("0").rstrip(".")
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}s"
    if minutes:
        return f"{sign}{minutes}m{seconds}s"
    return f"{sign}{seconds}s"

"""Regenerate ``sandbox/kubesim/protobuf_types.json`` from Kubernetes' ``generated.proto`` files.

    python -m sandbox.kubesim.tools.gen_protobuf <k8s.io/api checkout> <k8s.io/apimachinery checkout>

Only the wire facts are kept (field number → JSON name, repeated or map, type(s), and
whether the Go field is a pointer, read from ``generated.pb.go``), for the
stable API versions the emulator serves; the JSON is what ``protobuf.py`` decodes with.
"""

from __future__ import annotations

import json
import pathlib
import re
import sys

_PACKAGE = re.compile(r"^package\s+([\w.]+);", re.M)
_MESSAGE = re.compile(r"^message\s+(\w+)\s*\{(.*?)^\}", re.M | re.S)
_FIELD = re.compile(r"^\s*(?:(optional|repeated)\s+([\w.]+)|map<\s*([\w.]+)\s*,\s*([\w.]+)\s*>)\s+(\w+)\s*=\s*(\d+)",
                    re.M)
_SCALARS = {"string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "double", "float", "sint32", "sint64",
            "fixed32", "fixed64"}
OUT = pathlib.Path(__file__).resolve().parent.parent / "protobuf_types.json"
# Stable versions only: what the emulator serves (and what kubectl sends in protobuf).
_API_DIRS = re.compile(r"^(\w+)/(v1|v2)/generated\.proto$")


def _qualify(package: str, name: str) -> str:
    name = name.lstrip(".")
    return name if name in _SCALARS or "." in name else f"{package}.{name}"


def parse(text: str) -> dict[str, list[list]]:
    package = _PACKAGE.search(text).group(1)
    out = {}
    for name, body in _MESSAGE.findall(text):
        body = "\n".join(line for line in body.splitlines() if not line.strip().startswith("//"))
        fields = []
        for label, ftype, key, value, fname, number in _FIELD.findall(body):
            if key:
                fields.append([int(number), fname, "map", _qualify(package, key), _qualify(package, value)])
            else:
                fields.append([int(number), fname, "repeated" if label == "repeated" else "", _qualify(package, ftype)])
        out[f"{package}.{name}"] = fields
    return out


_UNMARSHAL = re.compile(r"^func \(m \*(\w+)\) Unmarshal\(dAtA \[\]byte\) error \{(.*?)^\}", re.M | re.S)
_CASE = re.compile(r"^\t\tcase (\d+):", re.M)
_POINTER = re.compile(r"\bm\.\w+ = &")


def pointers(go_source: str, package: str) -> set[tuple[str, int]]:
    """``(message, field number)`` of the Go fields that are pointers (set ≠ zero), from generated.pb.go."""
    out = set()
    for name, body in _UNMARSHAL.findall(go_source):
        pieces = _CASE.split(body)
        for number, block in zip(pieces[1::2], pieces[2::2]):
            if _POINTER.search(block):
                out.add((f"{package}.{name}", int(number)))
    return out


_STRUCT = re.compile(r"^type (\w+) struct \{(.*?)^\}", re.M | re.S)
_EMBEDDED = re.compile(r'^\t\*?[\w.]+\s+`json:"(?:,[^"]*)?" protobuf:"bytes,(\d+),', re.M)


def inlined(go_source: str, package: str) -> set[tuple[str, int]]:
    """``(message, field number)`` of embedded structs whose fields JSON puts in the parent (``json:",inline"``)."""
    out = set()
    for name, body in _STRUCT.findall(go_source):
        for number in _EMBEDDED.findall(body):
            out.add((f"{package}.{name}", int(number)))
    return out


def _read(directory: pathlib.Path, types: dict[str, list[list]]) -> None:
    """Flags per field: 1 the Go field is a pointer, 2 its fields are inlined in the parent's JSON."""
    text = (directory / "generated.proto").read_text()
    package = _PACKAGE.search(text).group(1)
    parsed = parse(text)
    go = directory / "generated.pb.go"
    marked = pointers(go.read_text(), package) if go.exists() else set()
    inline = set()
    for source in directory.glob("types*.go"):
        inline |= inlined(source.read_text(), package)
    for name, fields in parsed.items():
        for field in fields:
            field.append((1 if (name, field[0]) in marked else 0) | (2 if (name, field[0]) in inline else 0))
    types.update(parsed)


def main(api: str, machinery: str) -> None:
    types: dict[str, list[list]] = {}
    for path in sorted(pathlib.Path(api).rglob("generated.proto")):
        if _API_DIRS.match(path.relative_to(api).as_posix()):
            _read(path.parent, types)
    for rel in ("pkg/apis/meta/v1", "pkg/runtime", "pkg/runtime/schema", "pkg/util/intstr", "pkg/api/resource"):
        _read(pathlib.Path(machinery) / rel, types)
    OUT.write_text(json.dumps(types, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"{len(types)} messages written to {OUT}")


if __name__ == "__main__":
    main(*sys.argv[1:3])

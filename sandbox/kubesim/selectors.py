"""Label and field selectors with the semantics of k8s.io/apimachinery.

Notable real-world details kept here: ``!=`` and ``notin`` also match
objects that lack the label; a field that is absent compares as the empty
string (so ``spec.nodeName=`` finds unscheduled pods); an unknown field is a
400 rather than "no match".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .errors import bad_request

_KEY_RE = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                     r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!", "gt", "lt"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op in ("=", "in"):
            return present and value in self.values
        if self.op in ("!=", "notin"):
            return not present or value not in self.values
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("gt", "lt"):
            try:
                have, want = int(value or ""), int(self.values[0])
            except ValueError:
                return False
            return have > want if self.op == "gt" else have < want
        return False


class LabelSelector:
    """A conjunction of requirements; the empty selector matches everything."""

    def __init__(self, requirements: list[Requirement] | None = None, match_nothing: bool = False) -> None:
        self.requirements = requirements or []
        self.match_nothing = match_nothing

    def __bool__(self) -> bool:
        return bool(self.requirements) or self.match_nothing

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.match_nothing:
            return False
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    @classmethod
    def parse(cls, text: str | None) -> "LabelSelector":
        return cls(_parse_label_selector(text or ""))

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any] | None) -> "LabelSelector":
        """From a ``metav1.LabelSelector`` (matchLabels/matchExpressions).

        A missing selector matches nothing, an empty one everything: the
        convention of PodDisruptionBudget and NetworkPolicy.
        """
        if spec is None:
            return cls(match_nothing=True)
        reqs = [Requirement(k, "=", (str(v),)) for k, v in (spec.get("matchLabels") or {}).items()]
        ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
        for expr in spec.get("matchExpressions") or []:
            op = ops.get(expr.get("operator", ""))
            if op is None:
                raise bad_request(f"{expr.get('operator')!r} is not a valid label selector operator")
            reqs.append(Requirement(expr.get("key", ""), op, tuple(str(v) for v in expr.get("values") or ())))
        return cls(reqs)

    def __str__(self) -> str:
        parts = []
        for r in self.requirements:
            if r.op in ("=", "!="):
                parts.append(f"{r.key}{r.op}{r.values[0]}")
            elif r.op in ("in", "notin"):
                parts.append(f"{r.key} {r.op} ({','.join(r.values)})")
            elif r.op == "exists":
                parts.append(r.key)
            elif r.op == "!":
                parts.append("!" + r.key)
            else:
                parts.append(f"{r.key}{'>' if r.op == 'gt' else '<'}{r.values[0]}")
        return ",".join(parts)


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside an ``in (a,b)`` value set."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


_SET_RE = re.compile(r"^\s*(?P<key>[^\s!=<>()]+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)\s*$")
_CMP_RE = re.compile(r"^\s*(?P<key>[^\s!=<>()]+)\s*(?P<op>==|!=|=|>|<)\s*(?P<value>[^\s!=<>(),]*)\s*$")
_EXISTS_RE = re.compile(r"^\s*(?P<neg>!)?\s*(?P<key>[^\s!=<>(),]+)\s*$")


def _check_key(key: str, text: str) -> None:
    if not _KEY_RE.match(key) or len(key.split("/")[-1]) > 63:
        raise bad_request(f"unable to parse requirement: invalid label key \"{key}\": name part must consist "
                          "of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                          f"alphanumeric character (in selector \"{text}\")")


def _check_value(value: str, key: str) -> None:
    if len(value) > 63 or not _VALUE_RE.match(value):
        raise bad_request(f"unable to parse requirement: values[0][{key}]: Invalid value: \"{value}\": a valid "
                          "label must be an empty string or consist of alphanumeric characters, '-', '_' or "
                          "'.', and must start and end with an alphanumeric character")


def _parse_label_selector(text: str) -> list[Requirement]:
    if not text.strip():
        return []
    reqs = []
    for part in _split_top_level(text):
        if not part.strip():
            raise bad_request(f"found '', expected: identifier (in selector \"{text}\")")
        if m := _SET_RE.match(part):
            values = tuple(v.strip() for v in m["values"].split(",") if v.strip())
            _check_key(m["key"], text)
            for v in values:
                _check_value(v, m["key"])
            reqs.append(Requirement(m["key"], m["op"], values))
        elif m := _CMP_RE.match(part):
            op = {"==": "=", "=": "=", "!=": "!=", ">": "gt", "<": "lt"}[m["op"]]
            _check_key(m["key"], text)
            if op in ("gt", "lt"):
                if not m["value"].lstrip("-").isdigit():
                    raise bad_request(f"unable to parse requirement: for 'Gt', 'Lt' operators, the value must "
                                      f"be an integer (in selector \"{text}\")")
            else:
                _check_value(m["value"], m["key"])
            reqs.append(Requirement(m["key"], op, (m["value"],)))
        elif m := _EXISTS_RE.match(part):
            _check_key(m["key"], text)
            reqs.append(Requirement(m["key"], "!" if m["neg"] else "exists"))
        else:
            raise bad_request(f"unable to parse requirement: found unexpected token in selector \"{text}\"")
    return reqs


# ---------------------------------------------------------------- field selectors

@dataclass(frozen=True)
class FieldRequirement:
    path: str
    equal: bool
    value: str


class FieldSelector:
    def __init__(self, requirements: list[FieldRequirement] | None = None) -> None:
        self.requirements = requirements or []

    def __bool__(self) -> bool:
        return bool(self.requirements)

    @classmethod
    def parse(cls, text: str | None, allowed: tuple[str, ...]) -> "FieldSelector":
        reqs = []
        for part in _split_escaped(text or ""):
            if not part:
                continue
            m = re.match(r"^([^=!]+)(==|!=|=)(.*)$", part)
            if not m:
                raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
            path, op, value = m[1].strip(), m[2], _unescape(m[3].strip())
            if path not in allowed:
                raise bad_request(f"field label not supported: {path}")
            reqs.append(FieldRequirement(path, op != "!=", value))
        return cls(reqs)

    def name(self) -> str | None:
        """The single object name this selector pins, if any (used by RBAC like the real API)."""
        for r in self.requirements:
            if r.path == "metadata.name" and r.equal:
                return r.value
        return None

    def matches(self, obj: Mapping[str, Any]) -> bool:
        for r in self.requirements:
            have = field_value(obj, r.path)
            if (have == r.value) != r.equal:
                return False
        return True


def _split_escaped(text: str) -> list[str]:
    out, cur, esc = [], [], False
    for ch in text:
        if esc:
            cur.append("\\" + ch)
            esc = False
        elif ch == "\\":
            esc = True
        elif ch == ",":
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


# Booleans the real API formats with fmt.Sprint, so "absent" reads as "false".
_BOOL_FIELDS = {"spec.unschedulable", "spec.hostNetwork"}


def field_value(obj: Mapping[str, Any], path: str) -> str:
    cur: Any = obj
    if path == "source":  # events expose source.component under this name
        return str(((obj.get("source") or {}).get("component")) or "")
    for part in path.split("."):
        if not isinstance(cur, Mapping):
            return ""
        cur = cur.get(part)
    if cur is None:
        return "false" if path in _BOOL_FIELDS else ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def make_filter(labels: LabelSelector, fields: FieldSelector) -> Callable[[Mapping[str, Any]], bool] | None:
    """None when nothing filters, so hot list paths can skip the per-object call."""
    if not labels and not fields:
        return None

    def match(obj: Mapping[str, Any]) -> bool:
        if labels and not labels.matches((obj.get("metadata") or {}).get("labels")):
            return False
        return not fields or fields.matches(obj)

    return match

"""Data cleansing (the manual's 数据清洗; BACKUP.md §7-§8): rules of namespaces (as in the
backup), kinds and a label selector, each with operations "attribute: replace old with new".

An attribute is a path with `[*]` over lists (`spec.template.spec.containers[*].image`), or
one of the shortcuts `image` (every container and init container image of a pod or a pod
template) and `storageClassName` (PVC, PV, StatefulSet claim templates and the legacy PVC
annotation). Modes: `exact` (the whole value), `prefix` (an image's registry or repository:
`harbor.old` matches `harbor.old/app:1` but not `harbor.older/app`), `regex` (first match,
replaced once). Every rule's conditions and old values are evaluated on the object as it was
before any rule ran (Velero's fix for chains a→b, b→c), then the changes apply in order."""
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MODES = ("exact", "prefix", "regex")
_POD_SPECS = ["spec", "spec.template.spec", "spec.jobTemplate.spec.template.spec"]
SHORTCUTS = {
    "image": [f"{spec}.{field}[*].image" for spec in _POD_SPECS for field in ("containers", "initContainers")],
    "storageClassName": ["spec.storageClassName", "spec.volumeClaimTemplates[*].spec.storageClassName",
                         "metadata.annotations.volume\\.beta\\.kubernetes\\.io/storage-class"],
}
_TOKEN = re.compile(r"((?:[^.\[\\]|\\.)+)|\[(\*|\d+)\]|\.")


def parse_path(path: str) -> list:
    """`a.b[*].c` → ["a", "b", "*", "c"]; `\\.` escapes a dot inside a key."""
    if not path or path.startswith((".", "[")) or path.endswith(".") or ".." in path or ".[" in path:
        raise ValueError(path)
    parts, position = [], 0
    while position < len(path):
        match = _TOKEN.match(path, position)
        if not match or match.end() == position:
            raise ValueError(path)
        if match.group(1) is not None:
            parts.append(match.group(1).replace("\\.", "."))
        elif match.group(2) is not None:
            parts.append("*" if match.group(2) == "*" else int(match.group(2)))
        position = match.end()
    return parts


def _render(parts) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            key = part.replace(".", "\\.")
            out += key if not out else f".{key}"
    return out


def locate(obj, parts, done=()):
    """(concrete path parts, value) of every string at `parts` in obj."""
    if not parts:
        if isinstance(obj, str):
            yield list(done), obj
        return
    head, rest = parts[0], parts[1:]
    if head == "*":
        if isinstance(obj, list):
            for index, item in enumerate(obj):
                yield from locate(item, rest, (*done, index))
    elif isinstance(head, int):
        if isinstance(obj, list) and head < len(obj):
            yield from locate(obj[head], rest, (*done, head))
    elif isinstance(obj, dict) and head in obj:
        yield from locate(obj[head], rest, (*done, head))


def _set(obj, parts, value):
    for part in parts[:-1]:
        obj = obj[part]
    obj[parts[-1]] = value


def _replace(value: str, op: dict) -> str | None:
    old, new, mode = op["old"], op["new"], op.get("mode") or "exact"
    if mode == "exact":
        return new if value == old else None
    if mode == "prefix":
        if value == old or (value.startswith(old) and (old.endswith("/") or value[len(old)] in "/:@")):
            return new + value[len(old):]
        return None
    replaced, count = re.subn(old, new, value, count=1)
    return replaced if count else None


def parse_selector(text: str):
    """A label selector (`a=b,c!=d,e in (x,y),f,!g`) as a predicate on a labels dict."""
    text = (text or "").strip()
    if not text:
        return lambda labels: True
    tests = []
    for term in re.split(r",(?![^()]*\))", text):
        term = term.strip()
        if match := re.fullmatch(r"([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)", term):
            key, op, values = match.group(1), match.group(2), {v.strip() for v in match.group(3).split(",")}
            tests.append(lambda labels, k=key, o=op, v=values: (labels.get(k) in v) == (o == "in"))
        elif match := re.fullmatch(r"([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)", term):
            key, op, value = match.groups()
            tests.append(lambda labels, k=key, o=op, v=value: (labels.get(k) == v) == (o != "!="))
        elif match := re.fullmatch(r"!([\w./-]+)", term):
            tests.append(lambda labels, k=match.group(1): k not in labels)
        elif re.fullmatch(r"[\w./-]+", term):
            tests.append(lambda labels, k=term: k in labels)
        else:
            raise ValueError(term)
    return lambda labels: all(test(labels or {}) for test in tests)


def validate(rules) -> list[dict]:
    """The rules, normalised; a ValidationError names the rule and what is wrong."""
    clean = []
    for number, rule in enumerate(rules or [], start=1):
        where = {"rule": number}
        if not isinstance(rule, dict):
            raise ValidationError(_("Cleansing rule %(rule)s is not an object.") % where)
        try:
            parse_selector(rule.get("label_selector", ""))
        except ValueError as error:
            raise ValidationError(_("Cleansing rule %(rule)s: the label selector cannot be read near “%(term)s”.")
                                  % {**where, "term": error}) from error
        operations = []
        for op in rule.get("operations") or []:
            attribute = (op.get("attribute") or "").strip()
            if not attribute:
                raise ValidationError(_("Cleansing rule %(rule)s: the attribute name cannot be empty.") % where)
            mode = op.get("mode") or ("prefix" if attribute == "image" else "exact")
            if mode not in MODES:
                raise ValidationError(_("Cleansing rule %(rule)s: unknown mode “%(mode)s”.") % {**where, "mode": mode})
            try:
                for path in SHORTCUTS.get(attribute, [attribute]):
                    parse_path(path)
            except ValueError as error:
                raise ValidationError(_("Cleansing rule %(rule)s: the attribute “%(attribute)s” is not a path such "
                                        "as spec.template.spec.containers[*].image.")
                                      % {**where, "attribute": attribute}) from error
            if mode == "regex":
                try:
                    re.compile(op.get("old") or "")
                except re.error as error:
                    raise ValidationError(_("Cleansing rule %(rule)s: the regular expression does not compile: "
                                            "%(error)s") % {**where, "error": error}) from error
            if not (op.get("old") or ""):
                raise ValidationError(_("Cleansing rule %(rule)s: say which old value to replace.") % where)
            operations.append({"attribute": attribute, "old": op["old"], "new": op.get("new") or "", "mode": mode})
        if not operations:
            raise ValidationError(_("Cleansing rule %(rule)s has no operation.") % where)
        clean.append({"namespaces": [n.strip() for n in rule.get("namespaces") or [] if n.strip()],
                      "kinds": [k.strip() for k in rule.get("kinds") or [] if k.strip()],
                      "label_selector": (rule.get("label_selector") or "").strip(), "operations": operations})
    return clean


def apply(rules, obj: dict, snapshot: dict, source_namespace: str | None, kind_matches) -> list[dict]:
    """Apply the matching rules to `obj` (conditions and old values read on `snapshot`):
    the changes made, [{rule, path, old, new}]. `kind_matches(specs)` says whether the
    object is of one of the kinds the user named."""
    changes = []
    labels = (snapshot.get("metadata") or {}).get("labels") or {}
    for number, rule in enumerate(rules, start=1):
        if rule["namespaces"] and source_namespace is not None and source_namespace not in rule["namespaces"]:
            continue
        if rule["kinds"] and not kind_matches(rule["kinds"]):
            continue
        if not parse_selector(rule["label_selector"])(labels):
            continue
        for op in rule["operations"]:
            for path in SHORTCUTS.get(op["attribute"], [op["attribute"]]):
                for parts, value in list(locate(snapshot, parse_path(path))):
                    new = _replace(value, op)
                    if new is not None and new != value:
                        _set(obj, parts, new)
                        changes.append({"rule": number, "path": _render(parts), "old": value, "new": new})
    return changes

"""Karmada's CRD schemas (``crd_schemas/``, from karmada-io/karmada at the commit karmada SPEC names).

``<plural-singular>.schema.json`` is the CRD's openAPIV3Schema verbatim (what the API
server validates and defaults with); ``.strict.schema.json`` also rejects unknown
fields and pins apiVersion/kind, for checking what we write with ``jsonschema``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

DIRECTORY = Path(__file__).parent / "crd_schemas"
# kind → file stem
KINDS = {
    "PropagationPolicy": "propagationpolicy",
    "ClusterPropagationPolicy": "clusterpropagationpolicy",
    "OverridePolicy": "overridepolicy",
    "ClusterOverridePolicy": "clusteroverridepolicy",
}


@lru_cache(maxsize=None)
def _load(stem: str) -> str:
    return (DIRECTORY / f"{stem}.json").read_text()


def load(kind: str, *, strict: bool = False) -> dict[str, Any]:
    """A fresh copy of the JSON schema of ``kind`` (KeyError for a kind without one)."""
    stem = KINDS[kind] + (".strict.schema" if strict else ".schema")
    return json.loads(_load(stem))


def openapi_v3(kind: str) -> dict[str, Any]:
    """The verbatim schema as a CRD's ``openAPIV3Schema`` (JSON-Schema bookkeeping keys removed)."""
    schema = load(kind)
    for key in ("$schema", "$id", "title", "$comment"):
        schema.pop(key, None)
    return schema

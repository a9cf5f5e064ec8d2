"""The Kubernetes resources the console shows, read from the resource registry.

The preset permissions (`developer`, `restricted`: "the namespaced resources the console
shows") are built from these lists, so a kind the console gains (a `resources.registry`
entry) is covered by the presets without a second list. Each entry is (API group,
resource), subresources written `resource/subresource`.
"""
from resources import registry
from resources.targets import get_type


def _kinds():
    """The kinds a member cluster serves (Karmada's policies live only on a federation)."""
    cluster = get_type("cluster")
    return [kind for kind in registry.all_kinds() if cluster.serves(kind)]


def _resources(namespaced: bool) -> list[tuple[str, str]]:
    found = {}
    for kind in _kinds():
        if kind.namespaced == namespaced:
            for group, resource, _read_only in kind.api_resources():
                found.setdefault((group, resource), None)
    return list(found)


def namespaced() -> list[tuple[str, str]]:
    """Namespaced kinds the console lists, shows and edits, the subresources it uses (pod
    logs, scaling) and what its pages read beside them (a Service's Endpoints …)."""
    return _resources(namespaced=True)


def cluster_scoped() -> list[tuple[str, str]]:
    """Cluster-scoped kinds the console shows (to ops and admin; see permissions.rbac)."""
    return _resources(namespaced=False)


def secrets() -> set[tuple[str, str]]:
    """What only write-tier presets read (Kubernetes' `view` role leaves them out too): the
    kinds whose values the console shows only through an audited reveal."""
    return {(kind.group, kind.plural) for kind in _kinds() if kind.sensitive}


def read_only() -> set[tuple[str, str]]:
    """Subresources that can only be read (pod logs)."""
    return {(group, resource) for kind in _kinds()
            for group, resource, read_only in kind.api_resources() if read_only}


def federation_namespaced() -> list[tuple[str, str, bool]]:
    """(API group, resource, writable) of the namespaced kinds only a federation serves —
    Karmada's PropagationPolicy and OverridePolicy (writable) and ResourceBinding (written by
    Karmada's controllers, read-only) — for the presets' roles in a federation's Karmada."""
    cluster, federation = get_type("cluster"), get_type("federation")
    return [(kind.group, kind.plural, kind.writable) for kind in registry.all_kinds()
            if kind.namespaced and federation.serves(kind) and not cluster.serves(kind)]


def all_resources() -> list[tuple[str, str]]:
    return namespaced() + cluster_scoped()


def group_of(resource: str) -> str | None:
    """The API group of a resource the console shows, or None when it shows no such resource."""
    for group, name in all_resources():
        if name == resource:
            return group
    return None

"""The Kubernetes resources the console shows, defined once.

The preset permissions (`developer`, `restricted`: "the namespaced resources the console
shows") are built from these lists, and the single-cluster console builds its pages from
them, so a kind the console gains is covered by the presets without a second list.
Each entry is (API group, resource), subresources written `resource/subresource`.
"""

# Namespaced kinds the console lists, shows and edits, and the subresources it uses
# (pod logs, scaling).
NAMESPACED: list[tuple[str, str]] = [
    ("", "pods"),
    ("", "pods/log"),
    ("", "services"),
    ("", "endpoints"),
    ("", "configmaps"),
    ("", "secrets"),
    ("", "persistentvolumeclaims"),
    ("", "events"),
    ("apps", "deployments"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("apps", "replicasets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("networking.k8s.io", "ingresses"),
    ("apps", "deployments/scale"),
    ("apps", "statefulsets/scale"),
]

# Cluster-scoped kinds the console shows (to ops and admin; see fleets.rbac).
CLUSTER_SCOPED: list[tuple[str, str]] = [
    ("", "namespaces"),
    ("", "nodes"),
    ("", "persistentvolumes"),
    ("storage.k8s.io", "storageclasses"),
]

# What only write-tier presets read (Kubernetes' `view` role leaves them out too).
SECRETS: set[tuple[str, str]] = {("", "secrets")}

# Subresources that can only be read.
READ_ONLY: set[tuple[str, str]] = {("", "pods/log")}


def all_resources() -> list[tuple[str, str]]:
    return NAMESPACED + CLUSTER_SCOPED


def group_of(resource: str) -> str | None:
    """The API group of a resource the console shows, or None when it shows no such resource."""
    for group, name in all_resources():
        if name == resource:
            return group
    return None

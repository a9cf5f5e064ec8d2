"""Karmada's well-known names (pkg/util/constants.go, pkg/apis/*/well_known_constants.go)."""

CLUSTER_API = "cluster.karmada.io/v1alpha1"
POLICY_API = "policy.karmada.io/v1alpha1"
BINDING_API = "work.karmada.io/v1alpha2"
WORK_API = "work.karmada.io/v1alpha1"

EXECUTION_SPACE_PREFIX = "karmada-es-"

PP_ID_LABEL = "propagationpolicy.karmada.io/permanent-id"
PP_NAME_ANNOTATION = "propagationpolicy.karmada.io/name"
PP_NAMESPACE_ANNOTATION = "propagationpolicy.karmada.io/namespace"
CPP_ID_LABEL = "clusterpropagationpolicy.karmada.io/permanent-id"
CPP_NAME_ANNOTATION = "clusterpropagationpolicy.karmada.io/name"
RB_ID_LABEL = "resourcebinding.karmada.io/permanent-id"
CRB_ID_LABEL = "clusterresourcebinding.karmada.io/permanent-id"
RB_NAME_ANNOTATION = "resourcebinding.karmada.io/name"
RB_NAMESPACE_ANNOTATION = "resourcebinding.karmada.io/namespace"
CRB_NAME_ANNOTATION = "clusterresourcebinding.karmada.io/name"
WORK_ID_LABEL = "work.karmada.io/permanent-id"
WORK_NAME_ANNOTATION = "work.karmada.io/name"
WORK_NAMESPACE_ANNOTATION = "work.karmada.io/namespace"
MANAGED_LABEL = "karmada.io/managed"
CONFLICT_RESOLUTION_ANNOTATION = "work.karmada.io/conflict-resolution"
APPLIED_OVERRIDES_ANNOTATION = "policy.karmada.io/applied-overrides"
TEMPLATE_UID_ANNOTATION = "resourcetemplate.karmada.io/uid"

BINDING_FINALIZER = "karmada.io/binding-controller"
EXECUTION_FINALIZER = "karmada.io/execution-controller"
CLUSTER_FINALIZER = "karmada.io/cluster-controller"

TAINT_NOT_READY = "cluster.karmada.io/not-ready"
TAINT_UNREACHABLE = "cluster.karmada.io/unreachable"

# Namespaces whose objects are never resource templates.
RESERVED_NAMESPACES = ("karmada-system", "karmada-cluster", "kube-system", "kube-public", "kube-node-lease")

# Resource templates the detector watches (Karmada watches every served kind; these are the ones
# the console propagates).
TEMPLATE_KINDS = (
    ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"),
    ("batch/v1", "Job"), ("batch/v1", "CronJob"),
    ("v1", "Service"), ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "ServiceAccount"),
    ("v1", "PersistentVolumeClaim"),
    ("networking.k8s.io/v1", "Ingress"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"), ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1", "Role"), ("rbac.authorization.k8s.io/v1", "RoleBinding"),
)
# Kinds whose spec.replicas the scheduler divides (the default resource interpreter's).
REPLICA_KINDS = ("Deployment", "StatefulSet", "ReplicaSet")


def execution_space(cluster: str) -> str:
    return EXECUTION_SPACE_PREFIX + cluster


def cluster_of_space(namespace: str) -> str | None:
    return namespace[len(EXECUTION_SPACE_PREFIX):] if namespace.startswith(EXECUTION_SPACE_PREFIX) else None


def reserved(namespace: str) -> bool:
    return namespace in RESERVED_NAMESPACES or namespace.startswith(EXECUTION_SPACE_PREFIX)

"""The kinds the console manages, one module per family; importing this package
registers them, in this order (the order of the navigation within a section)."""
from . import namespaces, workloads, pods, network, configuration, secrets, storage, nodes, events  # noqa: F401

"""CCE One access hub: agents dial in, the console and kubectl reach clusters through it.

Import-light on purpose (no Django): the product plugs in via `Directory`.
"""

from .certs import HubTLS
from .directory import (
    BaseDirectory,
    ConnInfo,
    Directory,
    Forbidden,
    Identity,
    InMemoryDirectory,
    NotFound,
    Unauthorized,
    Upstream,
    hash_token,
)
from .runner import HubThread
from .server import Hub

__all__ = [
    "BaseDirectory",
    "ConnInfo",
    "Directory",
    "Forbidden",
    "Hub",
    "HubThread",
    "HubTLS",
    "Identity",
    "InMemoryDirectory",
    "NotFound",
    "Unauthorized",
    "Upstream",
    "hash_token",
]

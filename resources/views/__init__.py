"""Generic resource pages: one list, detail, create, edit and delete view serve every kind
of the registry on every target type (`crud`); the pages only some kinds have — actions,
a node's drain, a pod's logs and terminal — are in their own modules and exist for a kind that names
them in `Kind.actions`."""
from .actions import Cordon, Labels, Restart, RevealSecret, Scale, Taints
from .crud import ResourceCreate, ResourceDelete, ResourceDetail, ResourceEdit, ResourceList
from .drain import Drain, DrainStatus
from .logs import LogDownload, Logs, LogStream
from .summary import Summary
from .terminal import Terminal, TerminalInput, TerminalStream

__all__ = ["Cordon", "Drain", "DrainStatus", "Labels", "LogDownload", "LogStream", "Logs", "ResourceCreate",
           "ResourceDelete", "ResourceDetail", "ResourceEdit", "ResourceList", "Restart", "RevealSecret", "Scale",
           "Summary", "Taints", "Terminal", "TerminalInput", "TerminalStream"]

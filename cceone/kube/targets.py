"""What the gateway needs to know about a target (a registered cluster, a federation)."""
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Endpoint:
    host: str  # API server root URL, e.g. the hub's http://127.0.0.1:9444/clusters/12
    cache_key: str  # names the discovery cache, e.g. "cluster-12"
    token: str | None = None  # bearer token, for direct connections
    headers: dict[str, str] = field(default_factory=dict)  # e.g. the hub's shared secret
    ca_file: str | None = None
    verify_ssl: bool = True
    cert_file: str | None = None  # a client certificate and its key, for x509 client auth
    key_file: str | None = None


class KubeTarget(Protocol):
    name: str

    def kube_endpoint(self) -> Endpoint:
        """Where and how to reach the target's Kubernetes API."""

    def unreachable_message(self, *, answered: bool = True) -> str:
        """What to tell the user when the target is unreachable; `answered` is False when
        nothing took the connection (the endpoint itself is down), not merely an error status."""

    # Optional: `unreachable_reason(*, answered=True) -> (msgid, params)`, the same before
    # translation, lets a caller store the message and show it in a reader's language.


def ca_file(pem: str) -> str | None:
    """A CA certificate (PEM) as a file, for the Kubernetes client (which wants a path);
    None without one. Named by its hash, so one file serves every target that uses it."""
    if not pem:
        return None
    from django.conf import settings

    directory = Path(settings.VAR_DIR) / "kube-ca"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{hashlib.sha256(pem.encode()).hexdigest()[:16]}.crt"
    if not path.exists():
        path.write_text(pem)
    return str(path)


def client_files(cert_pem: str, key_pem: str) -> tuple[str | None, str | None]:
    """A client certificate and its key as files (the Kubernetes client wants paths), readable by
    this process's user only; named by their hash. (None, None) without both."""
    if not cert_pem or not key_pem:
        return None, None
    import os

    from django.conf import settings

    directory = Path(settings.VAR_DIR) / "kube-client-certs"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest = hashlib.sha256((cert_pem + key_pem).encode()).hexdigest()[:16]
    paths = directory / f"{digest}.crt", directory / f"{digest}.key"
    for path, content in zip(paths, (cert_pem, key_pem)):
        if not path.exists():
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue  # another thread wrote the same content
            with os.fdopen(fd, "w") as f:
                f.write(content)
    return str(paths[0]), str(paths[1])

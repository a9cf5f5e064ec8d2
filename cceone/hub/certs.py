"""TLS material for the hub's public listener.

On first start the hub mints its own CA and a server certificate signed by
it, so an installation works without an external PKI; agents and kubeconfigs
pin that CA (`ca.crt`). Operators can instead pass their own cert/key.
ECDSA P-256 keeps handshakes cheap when thousands of agents reconnect at
once after a hub restart.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class HubTLS:
    cert_file: str
    key_file: str
    ca_file: str | None = None  # the CA agents/kubeconfigs should trust

    @classmethod
    def ensure(cls, directory: str | os.PathLike, hostnames=("localhost",)) -> "HubTLS":
        """Use <dir>/server.{crt,key} and <dir>/ca.crt, generating them if absent."""
        d = Path(directory)
        ca_crt, ca_key = d / "ca.crt", d / "ca.key"
        srv_crt, srv_key = d / "server.crt", d / "server.key"
        d.mkdir(parents=True, exist_ok=True)
        if not (ca_crt.exists() and ca_key.exists()):
            key, cert = _make_ca()
            _write_key(ca_key, key)
            ca_crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        if not (srv_crt.exists() and srv_key.exists()):
            ca_k = serialization.load_pem_private_key(ca_key.read_bytes(), None)
            ca_c = x509.load_pem_x509_certificate(ca_crt.read_bytes())
            key, cert = _make_server(ca_k, ca_c, hostnames)
            _write_key(srv_key, key)
            srv_crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cls(str(srv_crt), str(srv_key), str(ca_crt))

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx

    @property
    def ca_pem(self) -> bytes | None:
        """For the product to embed in kubeconfigs (certificate-authority-data)."""
        return Path(self.ca_file).read_bytes() if self.ca_file else None


def _write_key(path: Path, key) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _make_ca():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CCE One access hub CA")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _make_server(ca_key, ca_cert, hostnames):
    key = ec.generate_private_key(ec.SECP256R1())
    names = list(dict.fromkeys([*hostnames, "localhost", "127.0.0.1", "::1"]))
    sans = []
    for n in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert

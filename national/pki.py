"""A small local PKI for mutual TLS between the prefecture and the simulated national server.

`python national/pki.py init [--dir var/pki]` creates, once (idempotent):

    ca.crt / ca.key           the local CA (signs both sides)
    server.crt / server.key   the national server (SAN: localhost, national, 127.0.0.1, ::1)
    client.crt / client.key   the prefecture's client certificate

`python national/pki.py fingerprint FILE` prints a certificate's SHA-256 fingerprint (the pin).
Keys are ECDSA P-256, written with mode 0600. Nothing here is a real key.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import ipaddress
import os
import ssl
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("JUKINET_VAR_DIR", ROOT / "var"))
DEFAULT_PKI_DIR = Path(os.environ.get("NATIONAL_PKI_DIR", VAR_DIR / "pki"))
DEFAULT_SERVER_NAMES = ("localhost", "national", "127.0.0.1", "::1")
VALID_DAYS = 825


@dataclass(frozen=True)
class PkiPaths:
    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.crt"

    @property
    def server_key(self) -> Path:
        return self.directory / "server.key"

    @property
    def client_cert(self) -> Path:
        return self.directory / "client.crt"

    @property
    def client_key(self) -> Path:
        return self.directory / "client.key"

    def complete(self) -> bool:
        files = (self.ca_cert, self.server_cert, self.server_key, self.client_cert, self.client_key)
        return all(path.exists() for path in files)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def make_ca(directory: Path, common_name: str = "jukinet local CA") -> tuple[Path, Path]:
    """A self-signed CA in `directory` (ca.crt, ca.key). Overwrites: callers check first."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + dt.timedelta(days=VALID_DAYS * 4))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    ca_cert, ca_key = directory / "ca.crt", directory / "ca.key"
    _write_key(ca_key, key)
    _write_cert(ca_cert, cert)
    return ca_cert, ca_key


def issue(
    *,
    ca_cert: Path,
    ca_key: Path,
    cert_out: Path,
    key_out: Path,
    common_name: str,
    server_names: tuple[str, ...] = (),
    client: bool = False,
) -> Path:
    """Issue a leaf certificate signed by the CA: a server cert (with SANs) or a client cert."""
    issuer = x509.load_pem_x509_certificate(ca_cert.read_bytes())
    signer = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
    if not isinstance(signer, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA key must be an EC key")
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    if server_names:
        alt: list[x509.GeneralName] = []
        for entry in server_names:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(entry)))
            except ValueError:
                alt.append(x509.DNSName(entry))
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    cert = builder.sign(signer, hashes.SHA256())
    cert_out.parent.mkdir(parents=True, exist_ok=True)
    _write_key(key_out, key)
    _write_cert(cert_out, cert)
    return cert_out


def init(directory: Path = DEFAULT_PKI_DIR, *, server_names: tuple[str, ...] = DEFAULT_SERVER_NAMES) -> PkiPaths:
    """Create whatever is missing; an existing complete PKI is left untouched (idempotent)."""
    paths = PkiPaths(Path(directory))
    if paths.complete():
        return paths
    paths.directory.mkdir(parents=True, exist_ok=True)
    os.chmod(paths.directory, 0o700)
    if not (paths.ca_cert.exists() and paths.ca_key.exists()):
        make_ca(paths.directory)
        # A new CA invalidates any leaf left from an older one.
        for leaf in (paths.server_cert, paths.server_key, paths.client_cert, paths.client_key):
            leaf.unlink(missing_ok=True)
    if not (paths.server_cert.exists() and paths.server_key.exists()):
        issue(
            ca_cert=paths.ca_cert,
            ca_key=paths.ca_key,
            cert_out=paths.server_cert,
            key_out=paths.server_key,
            common_name="national",
            server_names=server_names,
        )
    if not (paths.client_cert.exists() and paths.client_key.exists()):
        issue(
            ca_cert=paths.ca_cert,
            ca_key=paths.ca_key,
            cert_out=paths.client_cert,
            key_out=paths.client_key,
            common_name="prefecture",
            client=True,
        )
    return paths


def fingerprint_der(der: bytes) -> str:
    """SHA-256 of a DER certificate, lowercase hex without separators (the pin format)."""
    return hashlib.sha256(der).hexdigest()


def fingerprint_file(path: Path) -> str:
    return fingerprint_der(ssl.PEM_cert_to_DER_cert(Path(path).read_text()))


def normalize_fingerprint(value: str) -> str:
    """Accept `AB:CD:…`, `sha256:abcd…` or plain hex; return lowercase hex."""
    text = value.strip().lower().removeprefix("sha256:").replace(":", "")
    if len(text) != 64 or any(ch not in "0123456789abcdef" for ch in text):
        raise ValueError("a SHA-256 fingerprint is 64 hex digits")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    init_cmd = sub.add_parser("init", help="create the CA, server and client certificates if missing")
    init_cmd.add_argument("--dir", type=Path, default=DEFAULT_PKI_DIR)
    init_cmd.add_argument("--server-name", action="append", help="server SAN (repeatable)")
    fp_cmd = sub.add_parser("fingerprint", help="print a certificate's SHA-256 pin")
    fp_cmd.add_argument("certificate", type=Path)
    args = parser.parse_args(argv)
    if args.command == "init":
        names = tuple(args.server_name) if args.server_name else DEFAULT_SERVER_NAMES
        paths = init(args.dir, server_names=names)
        print(f"PKI in {paths.directory}")
        print(f"server pin sha256: {fingerprint_file(paths.server_cert)}")
        print(f"client pin sha256: {fingerprint_file(paths.client_cert)}")
    else:
        print(fingerprint_file(args.certificate))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Generate development secrets under var/secrets/ once (never committed; production uses the environment).

Writes the Django secret key, the AES-256-GCM individual-number key, the blind-index key and the Ed25519
operation-log signing key. Re-running keeps existing values, so data stays readable.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

VAR = Path(os.environ.get("JUKINET_VAR_DIR", Path(__file__).resolve().parent.parent / "var"))
SECRETS = VAR / "secrets"


def main() -> None:
    SECRETS.mkdir(parents=True, exist_ok=True)
    SECRETS.chmod(0o700)
    path = SECRETS / "dev-secrets.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    data.setdefault("INDIVIDUAL_NUMBER_KEYS", f"k1:{key}")
    data.setdefault("INDIVIDUAL_NUMBER_ACTIVE_KEY_ID", "k1")
    data.setdefault("BLIND_INDEX_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    path.write_text(json.dumps(data, indent=2))
    path.chmod(0o600)
    signing = SECRETS / "oplog-signing.pem"
    if not signing.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        signing.write_bytes(pem)
        signing.chmod(0o600)


if __name__ == "__main__":
    main()

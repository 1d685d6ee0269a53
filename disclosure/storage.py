"""Issued PDFs kept encrypted with their case (domain.md §12: a reprint prints the stored bytes).

AES-256-GCM in jukinet.crypto's blob layout (key-id length, key id, 96-bit nonce, ciphertext + tag). The
key is derived with HKDF from the keyring key of the same id (info "disclosure-pdf"), so documents never
share a key with individual numbers and follow key rotation: the active id encrypts, older ids only
decrypt. The associated data binds a blob to its case, document kind and SHA-256, so a blob copied to
another case or row does not decrypt.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from jukinet.crypto import NONCE_BYTES, DecryptionError, key_id_of, keyring

_INFO = b"disclosure-pdf"


def _document_key(key_id: str) -> bytes:
    base = keyring().keys.get(key_id)
    if base is None:
        raise DecryptionError(f"鍵ID {key_id} が設定にありません")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(base)


def document_aad(*, case_id: int, kind: str, sha256: str) -> bytes:
    return f"disclosure_storeddocument|{case_id}|{kind}|{sha256}".encode()


def document_encrypt(content: bytes, *, aad: bytes) -> bytes:
    key_id = keyring().active_id
    nonce = os.urandom(NONCE_BYTES)
    encoded_id = key_id.encode("ascii")
    return bytes([len(encoded_id)]) + encoded_id + nonce + AESGCM(_document_key(key_id)).encrypt(nonce, content, aad)


def document_decrypt(blob: bytes, *, aad: bytes) -> bytes:
    blob = bytes(blob)
    start = 1 + blob[0]
    nonce, ciphertext = blob[start : start + NONCE_BYTES], blob[start + NONCE_BYTES :]
    try:
        return AESGCM(_document_key(key_id_of(blob))).decrypt(nonce, ciphertext, aad)
    except InvalidTag as exc:
        raise DecryptionError("保存文書の復号に失敗しました（鍵または関連データが一致しません）") from exc

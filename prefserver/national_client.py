"""Client for the national server (機構 / 全国サーバ, simulated by national/server.py), domain.md §7.

Mutual TLS, fail closed: the client verifies the server against the local CA *and* pins the server
certificate's SHA-256 before sending a byte; it presents the prefecture's client certificate. Any
certificate, pin or key problem raises NationalAuthError (not retryable without an operator: the outbox row
stays pending, seeds/002_b6d1246946737152.txt:2074-2075). Network errors, timeouts and 5xx raise
NationalUnavailable (retry with backoff). Exceptions never carry request or response bodies, so no
individual number reaches a log through them.

    client = NationalClient.from_settings()
    acks = client.send_updates("identity", [update, ...])   # one Ack per update, in order
    answer = client.lookup("identity", {"resident_code": "12345678903"})
    sequence = client.sequence_of("12345678903")              # None when the server holds no such person

The connection is kept alive and reused; one client may be shared by threads (calls are serialized).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import select
import ssl
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from jukinet import fastjson

File = Literal["identity", "furyo"]
FILES: tuple[str, ...] = ("identity", "furyo")
UPDATES_PER_REQUEST_MAX = 10_000
ACCEPTANCE_WAIT_SECONDS = 5.0


class NationalError(Exception):
    """Base class. Messages name the failure, never personal data."""


class NationalAuthError(NationalError):
    """TLS, certificate, pin or key problem, or the server refused our certificate. Nothing was received."""


class NationalUnavailable(NationalError):
    """Network error, timeout, dropped connection, 5xx or an incomplete answer: retry with backoff."""


class NationalRequestError(NationalError):
    """The server refused the request as malformed (4xx other than 401/403): a bug on our side."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"national server refused the request: HTTP {status} {reason}")
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Ack:
    """One acknowledgement. `accepted` and `duplicate` both mean received (a repeat has no second effect)."""

    resident_code: str
    update_sequence: int
    revision: int
    status: Literal["accepted", "duplicate", "rejected"]
    reason: str = ""  # rejected: a machine code such as "invalid_field:birth_date"
    content_mismatch: bool = False  # duplicate whose content differs from the first receipt
    applied: bool = True  # accepted but older than the stored state: receipted, state unchanged

    @property
    def received(self) -> bool:
        return self.status in ("accepted", "duplicate")

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.resident_code, self.update_sequence, self.revision)


@dataclass(frozen=True)
class LookupResult:
    result: Literal["found", "not_found", "several"]
    record: dict[str, Any] | None = field(default=None, repr=False)  # repr hides personal data
    count: int | None = None  # several: how many (None above 10)


def certificate_sha256(pem_path: str | Path) -> str:
    """The pin format: lowercase hex SHA-256 of the certificate's DER."""
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(Path(pem_path).read_text())).hexdigest()


def _normalize_pin(value: str) -> str:
    text = value.strip().lower().removeprefix("sha256:").replace(":", "")
    if len(text) != 64 or any(ch not in "0123456789abcdef" for ch in text):
        raise NationalAuthError("the pinned server fingerprint is not a SHA-256")
    return text


def _update_key(update: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    return (update.get("resident_code"), update.get("update_sequence"), update.get("revision"))


class NationalClient:
    def __init__(
        self,
        base_url: str,
        ca_file: str | Path,
        client_cert: str | Path,
        client_key: str | Path,
        pinned_server_sha256: str,
        *,
        timeout: float = 30.0,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "https" or not parts.hostname:
            raise NationalAuthError("the national server URL must be https")
        self.host = parts.hostname
        self.port = parts.port or 443
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.pin = _normalize_pin(pinned_server_sha256)
        try:
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_file))
            context.load_cert_chain(str(client_cert), str(client_key))
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise NationalAuthError(f"cannot load the national PKI ({type(exc).__name__})") from None
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
        self._context = context
        self._connection: http.client.HTTPSConnection | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, *, timeout: float = 30.0) -> NationalClient:
        """NATIONAL_SERVER_URL, NATIONAL_PKI_DIR (ca.crt, client.crt, client.key, server.crt) and
        NATIONAL_SERVER_SHA256 (the pin; empty = the fingerprint of NATIONAL_PKI_DIR/server.crt)."""
        from django.conf import settings

        pki = Path(settings.NATIONAL_PKI_DIR)
        pin = getattr(settings, "NATIONAL_SERVER_SHA256", "")
        if not pin:
            try:
                pin = certificate_sha256(pki / "server.crt")
            except (OSError, ValueError) as exc:
                raise NationalAuthError(f"no pinned server certificate ({type(exc).__name__})") from None
        return cls(
            settings.NATIONAL_SERVER_URL,
            pki / "ca.crt",
            pki / "client.crt",
            pki / "client.key",
            pin,
            timeout=timeout,
        )

    def __repr__(self) -> str:
        return f"NationalClient(https://{self.host}:{self.port}{self.prefix})"

    # --- connection ---------------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _connect(self) -> http.client.HTTPSConnection:
        if self._connection is not None:
            return self._connection
        connection = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self._context)
        try:
            connection.connect()
        except ssl.SSLCertVerificationError:
            connection.close()
            raise NationalAuthError("the national server certificate failed verification") from None
        except ssl.SSLError as exc:
            connection.close()
            raise _classify_ssl_error(exc) from None
        except OSError as exc:
            connection.close()
            raise NationalUnavailable(f"cannot connect to the national server ({type(exc).__name__})") from None
        sock = connection.sock
        der = sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None
        if der is None or hashlib.sha256(der).hexdigest() != self.pin:
            # Verified by the CA but not the pinned certificate: close before sending anything.
            connection.close()
            raise NationalAuthError("the national server certificate does not match the pin")
        try:
            self._await_acceptance(sock)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def _await_acceptance(self, sock: ssl.SSLSocket) -> None:
        """Under TLS 1.3 the server judges our certificate after our side of the handshake is done. Wait
        for its verdict before sending anything: session tickets mean accepted, an alert means refused."""
        if sock.version() != "TLSv1.3":
            return  # TLS 1.2: the server's verdict was part of connect()
        deadline = time.monotonic() + min(self.timeout, ACCEPTANCE_WAIT_SECONDS)
        sock.setblocking(False)
        try:
            while not (sock.session is not None and sock.session.has_ticket):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return  # a server that issues no tickets: its verdict comes with the first answer
                select.select([sock], [], [], remaining)
                try:
                    if sock.recv(1) == b"":
                        raise NationalUnavailable("national server closed the connection after the handshake")
                    return  # unsolicited data: the server accepted us (and will be read as a response)
                except ssl.SSLWantReadError:
                    continue
                except ssl.SSLError as exc:
                    raise _classify_ssl_error(exc) from None
                except OSError as exc:
                    raise NationalUnavailable(
                        f"national server dropped the connection ({type(exc).__name__})"
                    ) from None
        finally:
            sock.settimeout(self.timeout)

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else fastjson.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        with self._lock:
            # A kept-alive connection the server has since closed fails at once; one fresh retry is safe
            # because every call is idempotent (receipt is idempotent, the rest only read).
            for attempt in (0, 1):
                reused = self._connection is not None
                connection = self._connect()
                try:
                    connection.request(method, self.prefix + path, body=data, headers=headers)
                    response = connection.getresponse()
                    raw = response.read()
                except ssl.SSLError as exc:
                    self._drop()
                    raise _classify_ssl_error(exc) from None
                except (OSError, http.client.HTTPException) as exc:
                    self._drop()
                    if reused and attempt == 0:
                        continue
                    raise NationalUnavailable(f"national server did not answer ({type(exc).__name__})") from None
                if response.will_close:
                    self._drop()
                return _decode(response.status, raw)
        raise NationalUnavailable("national server did not answer")  # pragma: no cover

    # --- API -----------------------------------------------------------------------------------------
    def send_updates(self, file: File, updates: Sequence[Mapping[str, Any]]) -> list[Ack]:
        """Send one batch; return exactly one Ack per update, in the order given.

        Raises NationalUnavailable when an update got no acknowledgement (send the batch again: the
        server's receipt is idempotent); repeated acknowledgements of one key are folded into one.
        """
        if file not in FILES:
            raise ValueError("file must be 'identity' or 'furyo'")
        if len(updates) > UPDATES_PER_REQUEST_MAX:
            raise ValueError(f"at most {UPDATES_PER_REQUEST_MAX} updates per request")
        if file == "furyo" and any("individual_number" in update for update in updates):
            # domain.md §7: file (2) updates never carry a 個人番号; refuse before anything leaves.
            raise ValueError("a furyo update must not carry an individual number")
        if not updates:
            return []
        answer = self._request("POST", "/v1/updates", {"file": file, "updates": list(updates)})
        raw_acks = answer.get("acks") if isinstance(answer, dict) else None
        if not isinstance(raw_acks, list):
            raise NationalUnavailable("national server answered without acknowledgements")
        by_key: dict[tuple[Any, Any, Any], list[dict[str, Any]]] = {}
        for raw in raw_acks:
            if isinstance(raw, dict) and isinstance(raw.get("key"), dict):
                by_key.setdefault(_update_key(raw["key"]), []).append(raw)
        keys = [_update_key(update) for update in updates]
        wanted = Counter(keys)
        acks: list[Ack] = []
        seen: dict[tuple[Any, Any, Any], int] = {}
        for key in keys:
            candidates = by_key.get(key, [])
            if len(candidates) < wanted[key]:
                raise NationalUnavailable("national server left an update unacknowledged")
            # The same key twice in a batch has two acks in order; a repeated ack stream (every ack sent
            # twice) is folded: the i-th update of a key takes the (i * step)-th of its acks.
            step = len(candidates) // wanted[key]
            occurrence = seen.get(key, 0)
            seen[key] = occurrence + 1
            raw = candidates[occurrence * step]
            status = raw.get("status")
            if status not in ("accepted", "duplicate", "rejected"):
                raise NationalUnavailable("national server sent an unknown acknowledgement status")
            acks.append(
                Ack(
                    resident_code=key[0],
                    update_sequence=key[1],
                    revision=key[2],
                    status=status,
                    reason=str(raw.get("reason") or ""),
                    content_mismatch=bool(raw.get("content_mismatch", False)),
                    applied=bool(raw.get("applied", status == "accepted")),
                )
            )
        return acks

    def lookup(self, file: File, conditions: Mapping[str, Any]) -> LookupResult:
        """Exact lookup of a person the prefecture does not hold (domain.md §7 National queries).

        identity: resident_code, individual_number or the 4情報 (name, birth_date, sex, address);
        furyo: resident_code or the 4情報, never individual_number (ValueError before sending).
        """
        if file not in FILES:
            raise ValueError("file must be 'identity' or 'furyo'")
        if file == "furyo" and "individual_number" in conditions:
            raise ValueError("file (2) is never searched by individual number")
        answer = self._request("POST", "/v1/lookup", {"file": file, "conditions": dict(conditions)})
        result = answer.get("result") if isinstance(answer, dict) else None
        if result == "found" and isinstance(answer.get("record"), dict):
            return LookupResult("found", record=answer["record"])
        if result == "not_found":
            return LookupResult("not_found")
        if result == "several":
            count = answer.get("count")
            return LookupResult("several", count=count if isinstance(count, int) else None)
        raise NationalUnavailable("national server sent an unexpected lookup answer")

    def sequences_of(self, resident_codes: Sequence[str], *, file: File = "identity") -> dict[str, int | None]:
        """The update_sequence the national server holds for each code (None: not held)."""
        if not resident_codes:
            return {}
        answer = self._request("POST", "/v1/sequences", {"file": file, "resident_codes": list(resident_codes)})
        sequences = answer.get("sequences") if isinstance(answer, dict) else None
        if not isinstance(sequences, dict):
            raise NationalUnavailable("national server sent an unexpected sequences answer")
        out: dict[str, int | None] = {}
        for code in resident_codes:
            entry = sequences.get(code)
            out[code] = entry.get("update_sequence") if isinstance(entry, dict) else None
        return out

    def sequence_of(self, resident_code: str, *, file: File = "identity") -> int | None:
        """Used by the CS simulator for a person moving in from another prefecture (domain.md §6.3)."""
        return self.sequences_of([resident_code], file=file)[resident_code]

    def stats(self) -> dict[str, Any]:
        """Counters of the simulator (tests and benchmarks)."""
        answer = self._request("GET", "/v1/stats")
        if not isinstance(answer, dict):
            raise NationalUnavailable("national server sent unexpected stats")
        return answer

    def set_faults(self, **switch: Any) -> dict[str, Any]:
        """Simulator only, from loopback: set_faults(mode="5xx", fraction=0.3) … set_faults(mode="none")."""
        answer = self._request("POST", "/v1/_faults", switch)
        if not isinstance(answer, dict):
            raise NationalUnavailable("national server sent an unexpected fault answer")
        return answer


def _classify_ssl_error(exc: ssl.SSLError) -> NationalError:
    reason = (getattr(exc, "reason", None) or "").upper()
    if isinstance(exc, ssl.SSLCertVerificationError) or "ALERT" in reason or "CERTIFICATE" in reason:
        # The server refused our certificate (bad certificate, unknown CA, certificate required).
        return NationalAuthError(f"mutual TLS refused ({reason or type(exc).__name__})")
    return NationalUnavailable(f"TLS connection failed ({reason or type(exc).__name__})")


def _decode(status: int, raw: bytes) -> Any:
    try:
        body = fastjson.loads(raw) if raw else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        body = None
    if status in (401, 403):
        raise NationalAuthError(f"national server refused our certificate (HTTP {status})")
    if status >= 500:
        raise NationalUnavailable(f"national server error (HTTP {status})")
    if status >= 400:
        error = body.get("error") if isinstance(body, dict) else None
        raise NationalRequestError(status, str(error or "bad request"))
    if body is None:
        raise NationalUnavailable("national server sent no JSON")
    return body

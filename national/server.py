"""The simulated national server (機構 / 全国サーバ): HTTPS with mutual TLS, its own storage (national/store.py).

    python national/server.py [--host 127.0.0.1] [--port 8443] [--data-dir var/national] [--pki-dir var/pki]
                              [--seed-population 1000] [--fault none|down|slow|5xx|duplicate_acks]

Endpoints (JSON, all behind mutual TLS; docs/national.md has the full protocol):
    POST /v1/updates     {"file", "updates": [...]}  → {"acks": [{"key", "status", ...}]}
    POST /v1/lookup      {"file", "conditions": {...}} → {"result": "found"|"not_found"|"several", ...}
    POST /v1/sequences   {"file", "resident_codes": [...]} → {"sequences": {code: {...} | null}}
    GET  /v1/stats       counters
    GET|POST /v1/_faults read / set the fault switch (loopback clients only)
    POST /v1/_reset      forget receipts and received persons (loopback clients only)

Logs carry method, path, status, counts and timings only: never a body, a name or a number.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import random
import signal
import socket
import ssl
import sys
import threading
import time
from dataclasses import asdict, dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python national/server.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from national import jsontext, pki
from national.population import generate
from national.store import FILES, LookupRefused, Store

log = logging.getLogger("national")
BODY_MAX_BYTES = 16 * 1024 * 1024
UPDATES_MAX = 10_000
SEQUENCES_MAX = 10_000
FAULT_MODES = ("none", "down", "slow", "5xx", "duplicate_acks")
ADMIN_PATHS = ("/v1/_faults", "/v1/_reset", "/v1/stats")


@dataclass
class Faults:
    """The fault switch. One mode at a time; parameters apply to their mode only."""

    mode: str = "none"
    down_style: str = "close"  # "close": drop the connection unanswered; "503": answer 503
    delay_seconds: float = 2.0  # slow
    fraction: float = 0.5  # 5xx: share of requests that fail
    status: int = 500  # 5xx: the status sent
    when: str = "before"  # 5xx: "before" (nothing received) or "after" (received, answer lost)
    seed: int | None = None  # 5xx: seed of the random draw (reproducible runs)

    def update(self, data: dict[str, Any]) -> None:
        mode = data.get("mode", self.mode)
        if mode not in FAULT_MODES:
            raise ValueError("mode")
        fresh = Faults(mode=mode)
        for name, kind in (
            ("down_style", str),
            ("delay_seconds", float),
            ("fraction", float),
            ("status", int),
            ("when", str),
        ):
            if name in data:
                value = data[name]
                if kind is float and isinstance(value, int) and not isinstance(value, bool):
                    value = float(value)
                if not isinstance(value, kind) or isinstance(value, bool):
                    raise ValueError(name)
                setattr(fresh, name, value)
        if "seed" in data:
            if data["seed"] is not None and not isinstance(data["seed"], int):
                raise ValueError("seed")
            fresh.seed = data["seed"]
        if fresh.down_style not in ("close", "503") or fresh.when not in ("before", "after"):
            raise ValueError("down_style/when")
        if not (0.0 <= fresh.fraction <= 1.0) or not (500 <= fresh.status <= 599) or fresh.delay_seconds < 0:
            raise ValueError("range")
        for name, value in asdict(fresh).items():
            setattr(self, name, value)


class NationalServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        ssl_context: ssl.SSLContext,
        store: Store,
        client_pins: set[str],
        faults: Faults,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, Handler)
        self.ssl_context = ssl_context
        self.store = store
        self.client_pins = client_pins
        self.faults = faults
        self.faults_lock = threading.Lock()
        self.rng = random.Random()  # noqa: S311 - fault injection, not security

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        # The handshake runs in the request's thread, so a slow or hostile peer cannot stall accept().
        return self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def finish_request(self, request: Any, client_address: Any) -> None:
        if not isinstance(request, ssl.SSLSocket):  # every accepted socket is wrapped in get_request()
            return
        request.settimeout(30)
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError) as exc:
            # No valid client certificate from our CA (or none at all): refused before any request is read.
            self.store.bump(tls_refused=1)
            log.warning("tls refused peer=%s reason=%s", client_address[0], type(exc).__name__)
            return
        der = request.getpeercert(binary_form=True)
        authorized = der is not None and pki.fingerprint_der(der) in self.client_pins
        if not authorized:
            self.store.bump(client_pin_refused=1)
            log.warning("client certificate not pinned peer=%s", client_address[0])
        Handler(request, client_address, self, authorized=authorized)

    def fault_snapshot(self) -> Faults:
        with self.faults_lock:
            return Faults(**asdict(self.faults))

    def draw(self, fraction: float) -> bool:
        with self.faults_lock:
            return self.rng.random() < fraction


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "national-sim/1"
    sys_version = ""
    timeout = 30
    server: NationalServer

    def __init__(self, request: Any, client_address: Any, server: Any, *, authorized: bool = False) -> None:
        self.authorized = authorized
        super().__init__(request, client_address, server)

    def log_message(self, format: str, *args: Any) -> None:
        """The default line would carry the raw request line; our own lines are written by _dispatch()."""

    def log_error(self, format: str, *args: Any) -> None:
        log.info("http error peer=%s", self.client_address[0])

    # --- plumbing ----------------------------------------------------------------------------------
    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = jsontext.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self._status = status

    def _read_json(self) -> tuple[Any, int | None]:
        length_header = self.headers.get("Content-Length")
        if length_header is None or not length_header.isdigit():
            self.close_connection = True
            return None, HTTPStatus.LENGTH_REQUIRED
        length = int(length_header)
        if length > BODY_MAX_BYTES:
            self.close_connection = True
            return None, HTTPStatus.REQUEST_ENTITY_TOO_LARGE
        raw = self.rfile.read(length)
        try:
            return jsontext.loads(raw), None
        except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            return None, HTTPStatus.BAD_REQUEST

    def _loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.client_address[0]).is_loopback
        except ValueError:
            return False

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        started = time.monotonic()
        self._status = 0
        self._note = ""
        path = self.path.split("?", 1)[0]
        body: Any = None
        error: int | None = None
        if method == "POST":
            body, error = self._read_json()
        try:
            if not self.authorized:
                self.close_connection = True
                self._send(HTTPStatus.FORBIDDEN, {"error": "client_certificate_not_authorized"})
            elif error is not None:
                self._send(error, {"error": HTTPStatus(error).phrase.lower().replace(" ", "_")})
            elif path in ADMIN_PATHS:
                self._admin(method, path, body)
            elif self._fault_before():
                pass
            elif (method, path) == ("POST", "/v1/updates"):
                self._updates(body)
            elif (method, path) == ("POST", "/v1/lookup"):
                self._lookup(body)
            elif (method, path) == ("POST", "/v1/sequences"):
                self._sequences(body)
            else:
                self._send(HTTPStatus.NOT_FOUND, {"error": "not_found"})
        finally:
            elapsed = (time.monotonic() - started) * 1000
            log.info(
                "%s %s %s %s%.1fms peer=%s",
                method,
                path if path.startswith("/v1/") else "-",
                self._status or "dropped",
                f"{self._note} " if self._note else "",
                elapsed,
                self.client_address[0],
            )

    def _fault_before(self) -> bool:
        """Apply the fault switch to a non-admin request; True when the request is answered or dropped."""
        faults = self.server.fault_snapshot()
        if faults.mode == "down":
            self.server.store.bump(faults_injected=1)
            self.close_connection = True
            if faults.down_style == "503":
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "down"})
            return True
        if faults.mode == "slow":
            time.sleep(faults.delay_seconds)
        if faults.mode == "5xx" and faults.when == "before" and self.server.draw(faults.fraction):
            self.server.store.bump(faults_injected=1)
            self._send(faults.status, {"error": "injected_fault"})
            return True
        return False

    # --- endpoints ---------------------------------------------------------------------------------
    def _updates(self, body: Any) -> None:
        if not isinstance(body, dict) or body.get("file") not in FILES or not isinstance(body.get("updates"), list):
            self._send(HTTPStatus.BAD_REQUEST, {"error": "expected {file, updates}"})
            return
        if len(body["updates"]) > UPDATES_MAX:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "too_many_updates"})
            return
        outcome = self.server.store.receive(body["file"], body["updates"])
        self._note = (
            f"file={body['file']} updates={len(body['updates'])} accepted={outcome.accepted}"
            f" duplicate={outcome.duplicates} rejected={outcome.rejected}"
        )
        faults = self.server.fault_snapshot()
        if faults.mode == "5xx" and faults.when == "after" and self.server.draw(faults.fraction):
            # Received and committed, but the acknowledgement is lost: the sender must retry safely.
            self.server.store.bump(faults_injected=1)
            self._send(faults.status, {"error": "injected_fault"})
            return
        acks = outcome.acks
        if faults.mode == "duplicate_acks":
            self.server.store.bump(faults_injected=1)
            acks = [ack for ack in acks for _ in (0, 1)]
        self._send(HTTPStatus.OK, {"acks": acks})

    def _lookup(self, body: Any) -> None:
        if not isinstance(body, dict):
            self._send(HTTPStatus.BAD_REQUEST, {"error": "expected {file, conditions}"})
            return
        try:
            answer = self.server.store.lookup(body.get("file"), body.get("conditions"))  # type: ignore[arg-type]
        except LookupRefused as exc:
            self._send(HTTPStatus.BAD_REQUEST, {"error": exc.reason})
            return
        self._note = f"file={body.get('file')} result={answer['result']}"
        self._send(HTTPStatus.OK, answer)

    def _sequences(self, body: Any) -> None:
        codes = body.get("resident_codes") if isinstance(body, dict) else None
        if (
            not isinstance(body, dict)
            or body.get("file") not in FILES
            or not isinstance(codes, list)
            or not all(isinstance(code, str) for code in codes)
        ):
            self._send(HTTPStatus.BAD_REQUEST, {"error": "expected {file, resident_codes}"})
            return
        if len(codes) > SEQUENCES_MAX:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "too_many_codes"})
            return
        self._note = f"file={body['file']} codes={len(codes)}"
        self._send(HTTPStatus.OK, {"sequences": self.server.store.sequences(body["file"], codes)})

    def _admin(self, method: str, path: str, body: Any) -> None:
        if path == "/v1/stats" and method == "GET":
            self._send(HTTPStatus.OK, {**self.server.store.stats(), "faults": asdict(self.server.fault_snapshot())})
            return
        if not self._loopback():
            self._send(HTTPStatus.FORBIDDEN, {"error": "loopback_only"})
            return
        if path == "/v1/_faults" and method == "GET":
            self._send(HTTPStatus.OK, asdict(self.server.fault_snapshot()))
        elif path == "/v1/_faults" and method == "POST" and isinstance(body, dict):
            with self.server.faults_lock:
                try:
                    self.server.faults.update(body)
                except ValueError as exc:
                    self._send(HTTPStatus.BAD_REQUEST, {"error": f"invalid:{exc}"})
                    return
                if self.server.faults.seed is not None:
                    self.server.rng.seed(self.server.faults.seed)
                current = asdict(self.server.faults)
            self._note = f"fault={current['mode']}"
            self._send(HTTPStatus.OK, current)
        elif path == "/v1/_reset" and method == "POST":
            keep = not (isinstance(body, dict) and body.get("keep_seeded") is False)
            self.server.store.reset(keep_seeded=keep)
            self._send(HTTPStatus.OK, {"reset": True})
        else:
            self._send(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "method_not_allowed"})


def server_context(paths: pki.PkiPaths) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(paths.server_cert, paths.server_key)
    context.load_verify_locations(cafile=paths.ca_cert)
    context.verify_mode = ssl.CERT_REQUIRED  # no client certificate from our CA, no connection
    return context


def build_parser() -> argparse.ArgumentParser:
    root = Path(__file__).resolve().parent.parent
    var = Path(os.environ.get("JUKINET_VAR_DIR", root / "var"))
    parser = argparse.ArgumentParser(description="Simulated national server (機構 / 全国サーバ)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8443, help="0 picks a free port (printed on start)")
    parser.add_argument("--data-dir", type=Path, default=var / "national")
    parser.add_argument("--pki-dir", type=Path, default=Path(os.environ.get("NATIONAL_PKI_DIR", var / "pki")))
    parser.add_argument(
        "--client-pin",
        action="append",
        default=[],
        help="SHA-256 of an accepted client certificate (repeatable; default: the PKI's client.crt)",
    )
    parser.add_argument("--seed-population", type=int, default=1000, help="synthetic out-of-prefecture persons")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--exclude-prefecture", default=os.environ.get("PREFECTURE_CODE", "35"))
    parser.add_argument("--fault", choices=FAULT_MODES, default="none")
    parser.add_argument("--down-style", choices=("close", "503"), default="close")
    parser.add_argument("--slow-seconds", type=float, default=2.0)
    parser.add_argument("--error-fraction", type=float, default=0.5)
    parser.add_argument("--error-status", type=int, default=500)
    parser.add_argument("--error-when", choices=("before", "after"), default="before")
    parser.add_argument("--log-level", default="INFO")
    return parser


def build_server(args: argparse.Namespace) -> NationalServer:
    paths = pki.init(args.pki_dir)  # creates the CA and both certificates on first start
    pins = {pki.normalize_fingerprint(pin) for pin in args.client_pin} or {pki.fingerprint_file(paths.client_cert)}
    store = Store(args.data_dir / "national.journal")
    if args.seed_population:
        pairs = list(generate(args.seed_population, seed=args.seed, exclude_prefecture=args.exclude_prefecture))
        added = store.seed("identity", (identity for identity, _ in pairs))
        store.seed("furyo", (furyo for _, furyo in pairs))
        log.info("seeded population=%d new=%d", args.seed_population, added)
    faults = Faults()
    faults.update(
        {
            "mode": args.fault,
            "down_style": args.down_style,
            "delay_seconds": args.slow_seconds,
            "fraction": args.error_fraction,
            "status": args.error_status,
            "when": args.error_when,
        }
    )
    return NationalServer(
        (args.host, args.port),
        ssl_context=server_context(paths),
        store=store,
        client_pins=pins,
        faults=faults,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s national %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    server = build_server(args)
    raw_host, port = server.server_address[:2]
    host = raw_host.decode() if isinstance(raw_host, bytes) else str(raw_host)
    host = f"[{host}]" if ":" in host else host
    # One machine-readable line on stdout: test fixtures and scripts/run.py wait for it.
    print(f"READY https://{host}:{port}", flush=True)
    log.info("listening on https://%s:%s faults=%s", host, port, server.faults.mode)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.store.close()
    return 0


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop)
    sys.exit(main())

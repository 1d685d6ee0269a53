"""Start a real national server process for tests and benchmarks (not used by the server itself)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from national import pki

SERVER = Path(__file__).resolve().parent / "server.py"


@dataclass
class RunningServer:
    url: str
    port: int
    pki: pki.PkiPaths
    data_dir: Path
    log_file: Path
    process: subprocess.Popen[bytes]

    @property
    def server_pin(self) -> str:
        return pki.fingerprint_file(self.pki.server_cert)

    def log_text(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")


@contextmanager
def running_server(
    work_dir: Path, *args: str, pki_dir: Path | None = None, startup_timeout: float = 20.0
) -> Iterator[RunningServer]:
    """Run `national/server.py --port 0` with data, PKI and log under `work_dir`; stop it afterwards."""
    work_dir.mkdir(parents=True, exist_ok=True)
    pki_dir = pki_dir or work_dir / "pki"
    data_dir = work_dir / "data"
    log_file = work_dir / "national.log"
    command = [
        sys.executable,
        str(SERVER),
        "--port",
        "0",
        "--data-dir",
        str(data_dir),
        "--pki-dir",
        str(pki_dir),
        *args,
    ]
    with log_file.open("ab") as log_out:
        process = subprocess.Popen(  # noqa: S603 - our own script
            command, stdout=subprocess.PIPE, stderr=log_out, start_new_session=True, env={**os.environ}
        )
    try:
        if process.stdout is None:
            raise RuntimeError("no stdout pipe")
        deadline = time.monotonic() + startup_timeout
        line = b""
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if line.startswith(b"READY ") or process.poll() is not None:
                break
        if not line.startswith(b"READY "):
            raise RuntimeError(f"national server did not start: {log_file.read_text(errors='replace')[-2000:]}")
        url = line.decode().split()[1]
        yield RunningServer(
            url=url,
            port=int(url.rsplit(":", 1)[1]),
            pki=pki.PkiPaths(pki_dir),
            data_dir=data_dir,
            log_file=log_file,
            process=process,
        )
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if process.stdout is not None:
            process.stdout.close()

"""`make run`: start the whole system in the foreground; Ctrl-C stops everything it started.

Order: local PostgreSQL and Redis (unless DATABASE_URL / REDIS_URL point elsewhere) → migrations →
reference data → demo data and demo logins → web, Celery worker, Celery beat and the simulators.
Running it again reuses the data under var/.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
HOST = os.environ.get("JUKINET_HOST", "127.0.0.1")
PORT = int(os.environ.get("JUKINET_PORT", "8000"))
PG_PORT = int(os.environ.get("JUKINET_PG_PORT", "54329"))
REDIS_PORT = int(os.environ.get("JUKINET_REDIS_PORT", "63799"))

# The demo runs over plain HTTP on loopback: secure-cookie and HTTPS-redirect settings are off for it only.
ENV = {
    **os.environ,
    "JUKINET_TLS": "0",
    "JUKINET_SERVE_STATIC": "1",
    "PYTHONUNBUFFERED": "1",
    "DJANGO_SETTINGS_MODULE": "jukinet.settings.base",
}


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def manage(*args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=ENV, check=True)


def processes() -> list[tuple[str, list[str]]]:
    """Every long-running process of the system. Later parts add theirs here."""
    celery = [PY, "-m", "celery", "-A", "jukinet"]
    procs = [
        (
            "web",
            [
                PY,
                "-m",
                "gunicorn",
                "jukinet.wsgi",
                "-c",
                "python:jukinet.gunicorn_conf",
                "-b",
                f"{HOST}:{PORT}",
                "--access-logfile",
                "-",
                "--access-logformat",
                '%(t)s "%(m)s %(U)s" %(s)s %(M)sms',
            ],
        ),
        ("worker", [*celery, "worker", "-l", "info", "--concurrency", "2", "-n", "worker1@%h"]),
        ("beat", [*celery, "beat", "-l", "info", "-s", str(ROOT / "var" / "run" / "celerybeat-schedule")]),
    ]
    national = ROOT / "national" / "server.py"
    if national.exists():
        procs.append(("national", [PY, str(national)]))
    if (ROOT / "prefserver" / "management" / "commands" / "simulate_cs.py").exists():
        procs.append(
            (
                "cs-stream",
                [PY, "manage.py", "simulate_cs", "--rate", "2", "--duration", "0", "--wait-for-web"],
            )
        )
    return procs


def main() -> int:
    started_services = not (port_open(PG_PORT) or "DATABASE_URL" in os.environ) or not (
        port_open(REDIS_PORT) or "REDIS_URL" in os.environ
    )
    subprocess.run([str(ROOT / "scripts" / "services.sh"), "start"], check=True)
    manage("migrate", "--noinput", "-v", "0")
    manage("load_reference")
    manage("demo_setup")
    if (ROOT / "national" / "pki.py").exists():
        # The national link's PKI exists before any process that talks over it starts (idempotent).
        subprocess.run([PY, str(ROOT / "national" / "pki.py"), "init"], cwd=ROOT, env=ENV, check=True)
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    for name, cmd in processes():
        print(f"[run] starting {name}", flush=True)
        children.append((name, subprocess.Popen(cmd, cwd=ROOT, env=ENV, start_new_session=True)))
    print(f"\n[run] 画面: http://{HOST}:{PORT}/  (Ctrl-C で全て停止)\n", flush=True)

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, child in children:
            if child.poll() is not None:
                print(f"[run] {name} exited with {child.returncode}; stopping everything", flush=True)
                stopping, exit_code = True, 1
        time.sleep(0.5)
    for _, child in children:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for _, child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
    if started_services and shutil.which("bash"):
        subprocess.run([str(ROOT / "scripts" / "services.sh"), "stop"], check=False)
    print("[run] stopped", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())

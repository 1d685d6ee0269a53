"""Processes for the intake benchmarks and the fault test: a fresh database, Celery worker and beat processes,
the national simulator, optionally private PostgreSQL and Redis instances. Not a test, not production."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.3)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


def psql(url: str, sql: str) -> str:
    out = subprocess.run(
        [str(PG_BIN / "psql"), url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of our own under a temporary folder (never the shared one): restartable."""

    directory: Path
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def _as_postgres(self, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)

    def init(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        subprocess.run(
            self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "jukinet", "--auth=trust", "-E",
                              "UTF8", "--locale=C.UTF-8"),
            check=True, capture_output=True,
        )  # fmt: skip
        conf = self.data / "postgresql.conf"
        with conf.open("a") as out:
            out.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.directory}'\n"
                "fsync = on\nsynchronous_commit = on\nmax_connections = 100\nshared_buffers = 256MB\n"
            )

    def start(self) -> None:
        subprocess.run(
            self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.directory / "pg.log"),
                              "-w", "start"),
            check=True, capture_output=True,
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"),
            check=False, capture_output=True,
        )  # fmt: skip

    def restart(self, mode: str = "immediate") -> None:
        """`immediate` = a crash: no checkpoint, open transactions lost, recovery from WAL."""
        self.stop(mode)
        self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://jukinet@127.0.0.1:{self.port}/{database}"


@dataclass
class PrivateRedis:
    """A Redis of our own on another port, without persistence (never the shared one)."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        redis_server = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [redis_server, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory), "--save",
             "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        wait_port(self.port)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


def fresh_database(server_url: str, name: str) -> str:
    """Drop and create `name` on the server of `server_url` (a maintenance URL); return its URL."""
    psql(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    psql(server_url, f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def django_env(database_url: str, redis_url: str, national_url: str, pki_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "jukinet.settings.base",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "NATIONAL_SERVER_URL": national_url,
        "NATIONAL_PKI_DIR": str(pki_dir),
        "NATIONAL_SERVER_SHA256": "",
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
        "JUKINET_TLS": "0",
        "DATABASE_CONN_MAX_AGE": "600",
    }
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


class Workers:
    """Celery worker processes (real, prefork) plus one beat; each worker in its own process group."""

    def __init__(self, env: dict[str, str], log_dir: Path, *, count: int = 2, concurrency: int = 1) -> None:
        self.env, self.log_dir, self.count, self.concurrency = env, log_dir, count, concurrency
        self.workers: dict[int, subprocess.Popen[bytes]] = {}
        self.beat: subprocess.Popen[bytes] | None = None
        self.serial = 0

    def _spawn(self, *args: str, name: str) -> subprocess.Popen[bytes]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{name}.log").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "jukinet", *args],
            cwd=ROOT, env=self.env, stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip

    def start_worker(self, index: int) -> None:
        self.serial += 1
        self.workers[index] = self._spawn(
            "worker", "-l", "warning", "--concurrency", str(self.concurrency), "-n", f"bench{index}-{self.serial}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat", name=f"worker{index}",
        )  # fmt: skip

    def start(self) -> None:
        for index in range(self.count):
            self.start_worker(index)
        schedule = self.log_dir / "celerybeat-schedule"
        with contextlib.suppress(FileNotFoundError):
            schedule.unlink()
        self.beat = self._spawn("beat", "-l", "warning", "-s", str(schedule), name="beat")

    def kill_worker(self, index: int) -> None:
        """SIGKILL a worker's whole process group (main process and its pool children), then start another."""
        process = self.workers[index]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        self.start_worker(index)

    def stop(self) -> None:
        procs = [*self.workers.values(), *([self.beat] if self.beat else [])]
        for process in procs:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in procs:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def django_setup(env: dict[str, str]) -> None:
    """Configure Django in this process against the bench database (after migrations ran)."""
    for key in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "NATIONAL_SERVER_URL", "NATIONAL_PKI_DIR",
                "LOG_LEVEL", "DATABASE_CONN_MAX_AGE", "JUKINET_TLS"):  # fmt: skip
        os.environ[key] = env[key]
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def query_one(sql: str, params: Any = None) -> Any:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


@contextlib.contextmanager
def national_server(work_dir: Path, *args: str) -> Iterator[Any]:
    from national.testing import running_server

    with running_server(work_dir, "--seed-population", "0", *args) as server:
        yield server


# --- CPU accounting (the machine is shared: CPU seconds per component are steadier than wall rates) -----------


def _stat_fields(pid: str) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def process_group_cpu(pgids: set[int]) -> float:
    """CPU seconds (user + system) of the live processes in these process groups, with their reaped children."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        fields = _stat_fields(pid)
        if fields is not None and int(fields[2]) in pgids:
            total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return total / os.sysconf("SC_CLK_TCK")


def backend_cpu(database: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to `database` now (same machine), by pid."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [database])
        pids = [row[0] for row in cursor.fetchall()]
    out = {}
    for pid in pids:
        fields = _stat_fields(str(pid))
        if fields is not None:
            out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out

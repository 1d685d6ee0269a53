"""The web process's gunicorn settings: one module used by make run, docker-compose and the lookup bench."""

import importlib
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(monkeypatch: pytest.MonkeyPatch, **env: str) -> object:
    for name in ("WEB_WORKERS", "WEB_THREADS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    import jukinet.gunicorn_conf

    return importlib.reload(jukinet.gunicorn_conf)


def test_default_shape_is_four_gthread_workers_of_three_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = _load(monkeypatch)

    assert (conf.worker_class, conf.workers, conf.threads) == ("gthread", 4, 3)  # type: ignore[attr-defined]


def test_the_shape_follows_the_environment_and_refuses_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = _load(monkeypatch, WEB_WORKERS="8", WEB_THREADS="2")
    assert (conf.workers, conf.threads) == (8, 2)  # type: ignore[attr-defined]

    for bad in ("0", "-1", "four", "65"):
        with pytest.raises(SystemExit, match="WEB_WORKERS"):
            _load(monkeypatch, WEB_WORKERS=bad)
    _load(monkeypatch)  # leave the module in its default state


def test_make_run_and_compose_start_gunicorn_with_this_module() -> None:
    assert '"python:jukinet.gunicorn_conf"' in (ROOT / "scripts" / "run.py").read_text()
    assert '"python:jukinet.gunicorn_conf"' in (ROOT / "docker-compose.yml").read_text()


def _children(pid: int) -> int:
    """How many processes have `pid` as their parent (Linux /proc)."""
    count = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            count += int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid
        except (OSError, IndexError, ValueError):
            continue  # a process that ended meanwhile
    return count


def _wait_until_serving(server: subprocess.Popen[bytes], port: int, *, workers: int) -> None:
    """Until the master has forked every worker and the port answers; fails if gunicorn stops instead."""
    while True:
        assert server.poll() is None, f"gunicorn stopped with {server.returncode}"
        if _children(server.pid) >= workers:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                pass
        time.sleep(0.1)


def test_keep_alive_connections_opened_together_are_spread_over_the_workers(tmp_path: Path) -> None:
    # given: the web process's settings with 4 single-thread workers, serving an app that answers its pid
    (tmp_path / "pidapp.py").write_text(
        "import os\n"
        "def application(environ, start_response):\n"
        "    body = str(os.getpid()).encode()\n"
        "    start_response('200 OK', [('Content-Length', str(len(body)))])\n"
        "    return [body]\n"
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gunicorn = Path(sys.executable).parent / "gunicorn"
    env = {**os.environ, "WEB_WORKERS": "4", "WEB_THREADS": "1"}
    server = subprocess.Popen(
        [str(gunicorn), "-c", "python:jukinet.gunicorn_conf", "--chdir", str(tmp_path), "--bind",
         f"127.0.0.1:{port}", "--log-level", "warning", "pidapp:application"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    connections: list[socket.socket] = []
    try:
        _wait_until_serving(server, port, workers=4)
        # when: 32 clients connect at once (as a load generator or a pool of API clients starting), then each
        # asks which worker it reached
        connections += [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(32)]
        answered: Counter[str] = Counter()
        for conn in connections:
            conn.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            answer = b""
            while not (b"\r\n\r\n" in answer and answer.rsplit(b"\r\n\r\n", 1)[1]):  # headers, then the pid
                answer += conn.recv(4096)
            answered[answer.rsplit(b"\r\n\r\n", 1)[1].decode()] += 1
    finally:
        for conn in connections:
            conn.close()
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    # then: no worker holds most of them (on one shared socket the first awake worker took up to all 32)
    assert len(answered) >= 3 and max(answered.values()) <= 20, answered


def test_the_web_process_will_not_share_its_port_with_a_server_already_there(tmp_path: Path) -> None:
    # given: a server already listening with SO_REUSEPORT (as an old instance of this one would)
    (tmp_path / "app.py").write_text("def application(environ, start_response):\n    return []\n")
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # when: the web process starts on the same port
        result = subprocess.run(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "python:jukinet.gunicorn_conf", "--chdir",
             str(tmp_path), "--bind", f"127.0.0.1:{port}", "app:application"],
            cwd=ROOT, env={**os.environ, "WEB_WORKERS": "1", "WEB_THREADS": "1"}, capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
    # then: it stops at once and says why
    assert result.returncode != 0
    assert f"127.0.0.1:{port} is already in use" in result.stderr + result.stdout

"""The web process's gunicorn settings: one module used by make run, docker-compose and the lookup bench."""

import importlib
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

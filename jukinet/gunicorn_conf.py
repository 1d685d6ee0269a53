"""gunicorn settings of the web process (`make run`, docker-compose): `gunicorn -c python:jukinet.gunicorn_conf`.

The worker shape is the one bench/lookup.py measured best for the lookup API on 2 cores (4 processes × 3
threads, gthread; of 3×4, 4×3, 2×6, 6×2, 8×1 and 3 sync workers). Threads keep connections alive between
requests and let a process run one request while another waits for PostgreSQL. WEB_WORKERS and WEB_THREADS
change it for a bigger machine.

Each worker listens on its own socket (SO_REUSEPORT) and the kernel spreads new connections over them by
address hash. On one shared socket the worker that happened to be awake accepted them: 32 keep-alive
connections opened at once landed 32/0/0/0, 15/12/3/2 or 27/2/2/1 on the four workers, and one process (one
core, one GIL) served nearly every request while the others idled (the lookup bench's saturation: 245 req/s
in the 32/0/0/0 run, ≈ 500 otherwise). Connections queued for a worker that is killed (timeout) are reset
instead of going to another worker; clients reconnect. With SO_REUSEPORT a second server of the same user
could bind the same port and silently take half the connections (an old instance left running, say), so
`on_starting` refuses to start when something already answers on the address. A binary upgrade by USR2 does
not work with per-worker sockets in this gunicorn (the new master expects inherited listeners): restart the
service instead; HUP (new workers, new settings) works as before.
"""

import socket
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from gunicorn.util import parse_address

from jukinet.env import env_int


def _count(name: str, default: int) -> int:
    try:
        return env_int(name, default, minimum=1, maximum=64)
    except ImproperlyConfigured as exc:  # gunicorn's master stops with the message, not a traceback
        raise SystemExit(str(exc)) from None


worker_class = "gthread"
reuse_port = True
workers = _count("WEB_WORKERS", 4)
threads = _count("WEB_THREADS", 3)


def post_worker_init(worker: Any) -> None:
    """The loaded application's objects (Django, the apps, their modules) left out of garbage collection: the
    collector's full passes walked them all again every few thousand requests, a pause of tens of ms that the
    requests then waiting paid (jukinet.runtime measured the same for intake's workers). The URLconf is
    loaded first: it imports every view module (DRF's too), which Django otherwise does on the first request,
    after the freeze (measured: 14,411 objects left to the collector after three requests, 650 with it)."""
    import gc

    from django.apps import apps
    from django.urls import get_resolver

    if apps.ready:  # the application is Django's (jukinet.wsgi)
        get_resolver().url_patterns  # noqa: B018 - loading it is the point
    gc.freeze()


def on_starting(server: Any) -> None:
    """Stop when a bind address is taken: the shared socket's bind failed there, per-worker sockets need not."""
    for address in server.cfg.bind:
        parsed = parse_address(address)
        if not isinstance(parsed, tuple):  # a Unix socket path: its bind still fails when it is taken
            continue
        host, port = parsed
        try:
            with socket.create_connection((host or "127.0.0.1", port), timeout=0.5):
                pass
        except OSError:
            continue
        raise SystemExit(f"{address} is already in use: another server is listening there")

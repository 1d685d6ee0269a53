"""Profile one lookup request end to end through the WSGI application (issue 6 benchmark support).

    python bench/profile_lookup.py [--requests 300] [--endpoint real|bare] [--profile out.prof] [--sql]

Uses the `bench_lookup` database of bench/lookup.py (run that once first). Calls `jukinet.wsgi`'s
application in-process, as gunicorn would, and prints per request: SQL statements (CaptureQueriesContext), the
Python process's CPU and its PostgreSQL backend's CPU (from /proc), both in ms.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import lookup  # noqa: E402


def _backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _backend_split(pid: int) -> tuple[float, float]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--endpoint", choices=["real", "bare"], default="real")
    parser.add_argument("--profile", default="")
    parser.add_argument("--sql", action="store_true", help="print the statements of one request")
    args = parser.parse_args()

    codes, tokens = lookup.prepare_actors(1)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from jukinet.wsgi import application

    path = "/api/v1/identity/lookup" if args.endpoint == "real" else "/api/bench/bare/lookup"

    def call(code: str) -> tuple[str, bytes]:
        body = json.dumps({"affair": "S6-EDU-01", "conditions": {"resident_code": code},
                           "document_reference": "bench"}).encode()  # fmt: skip
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": path, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
            "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
            "HTTP_HOST": "127.0.0.1", "HTTP_AUTHORIZATION": f"Bearer {tokens[0]}",
            "HTTP_X_TERMINAL_KEY": lookup.TERMINAL_KEY, "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr, "wsgi.version": (1, 0), "wsgi.multithread": True,
            "wsgi.multiprocess": True, "wsgi.run_once": False, "SERVER_PROTOCOL": "HTTP/1.1",
        }  # fmt: skip
        status: list[str] = []
        chunks = application(environ, lambda s, h, exc_info=None: status.append(s))
        out = b"".join(chunks)
        getattr(chunks, "close", lambda: None)()
        return status[0], out

    for code in codes[:20]:  # warm-up: connection, per-process caches
        status, out = call(code)
    print("sample answer:", status, out[:300].decode(errors="replace"))
    with CaptureQueriesContext(connection) as queries:
        call(random.choice(codes))
    print(f"SQL statements per request: {len(queries)}")
    if args.sql:
        for query in queries.captured_queries:
            print(f"  [{query['time']}] {(query['sql'] or '(prepared statement)')[:400]}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]  # type: ignore[index]
    sample = random.sample(codes, min(args.requests, len(codes)))
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU, not wall: the machine is shared
        profiler.enable()
    split = _backend_split(backend)
    wall, cpu, db = time.perf_counter(), time.process_time(), _backend_cpu(backend)
    for code in sample:
        call(code)
    wall, cpu, db = time.perf_counter() - wall, time.process_time() - cpu, _backend_cpu(backend) - db
    user, system = (after - before for after, before in zip(_backend_split(backend), split, strict=True))
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    n = len(sample)
    print(f"{n} requests: python CPU {cpu * 1000 / n:.2f} ms/request, PostgreSQL backend CPU "
          f"{db * 1000 / n:.2f} ms/request, total {(cpu + db) * 1000 / n:.2f} ms;"
          f" wall {wall * 1000 / n:.2f} ms")  # fmt: skip
    print(f"PostgreSQL backend: user {user * 1000 / n:.2f} ms, system {system * 1000 / n:.2f} ms per request")


if __name__ == "__main__":
    main()

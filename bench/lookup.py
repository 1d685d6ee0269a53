"""Benchmark: the real lookup endpoint vs a bare DRF endpoint returning the same row (issue 6).

    python bench/lookup.py [--residents 1000000] [--clients 32] [--duration 20] [--workers 4] [--threads 3]

1. Database `bench_lookup` (BENCH_DB): created, migrated, reference data and affair catalogue loaded, and
   `manage.py generate_population --residents N` run when it holds fewer current persons than asked (an
   existing load of the right size is reused; `--reload` drops it first).
2. 32 body operators (教育委員会) with today's usage approval on one registered terminal, each with a §9.6
   bearer token (audit.authentication.api_token_issue).
3. gunicorn (`jukinet.wsgi`, settings `bench.settings`, gthread) on 127.0.0.1, and `wrk` (Debian package) with
   `--clients` connections posting random resident codes of current residents:
   - real: `POST /api/v1/identity/lookup` — token + terminal auth, usage approval, affair check, the §9.3
     exact match, one provision record and one hash-chained operation-log entry per request;
   - bare: `POST /api/bench/bare/lookup` — the same input serializer and the same row, no auth, no checks, no
     records (bench-only URLConf; never routed in production).
4. Saturation (closed loop, wrk): req/s, p50 and p99 of both, the ratio real/bare, server CPU per request
   (gunicorn, PostgreSQL with its background processes, Redis, the sealer), how wrk's connections were spread
   over the workers, and that every real answer was 200.
5. Latency at the target rate (open loop, bench/openloop.py): `--rate` (500) requests per second arriving on
   `--clients` keep-alive connections whatever the answers do, latency counted from each request's scheduled
   time (queueing included). A closed loop cannot show the latency target: with 32 connections and no think
   time its mean latency is 32 / throughput by Little's law, so a p99 ≤ 50 ms would need > 640 req/s from
   any endpoint, bare DRF included; the p99 that matters is the one at the load the target names.
   Targets: ≥ 500 req/s at saturation, p99 ≤ 50 ms at 500 req/s, ratio ≥ 0.3.
   The same open loop also runs against `bench/floor.py` (a minimal WSGI application: no Django, no database)
   under a gunicorn of the same shape: the p99 of the load generator, gunicorn and the machine alone.
6. Each phase also prints how slow the machine itself was meanwhile (bench/hostprobe.py): this VM's CPU
   stalls in bursts of ~0.1 s that slow every process at once, and no server keeps a 50 ms p99 through them.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import openloop  # noqa: E402
from bench.hostprobe import HostProbe  # noqa: E402
from jukinet import gunicorn_conf  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql://jukinet:jukinet@127.0.0.1:54329/postgres")
DB_NAME = os.environ.get("BENCH_DB", "bench_lookup")
DB_URL = f"postgresql://jukinet:jukinet@127.0.0.1:54329/{DB_NAME}"
TERMINAL_KEY = "bench-lookup-terminal-key"
SAMPLE_CODES = 20_000

LUA = """
local codes = {%(codes)s}
local tokens = {%(tokens)s}
local counter = 0
local threads = {}
setup = function(thread)
  counter = counter + 1
  thread:set("id", counter)
end
init = function(args)
  math.randomseed(os.time() * 1000 + id)
end
request = function()
  local code = codes[math.random(#codes)]
  local token = tokens[math.random(#tokens)]
  local body = '{"affair":"S6-EDU-01","conditions":{"resident_code":"' .. code .. '"},"document_reference":"bench"}'
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token, ["X-Terminal-Key"] = "%(key)s"}, body)
end
"""


def env() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": DB_URL,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "JUKINET_TLS": "0",
        "API_THROTTLE_RATE": "1000000/s",  # the bench measures the path, not the per-operator throttle
        "LOG_LEVEL": "WARNING",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    }


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env(), check=True)


def prepare_database(residents: int, reload: bool) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if exists and reload:
            conn.execute(f'DROP DATABASE "{DB_NAME}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    manage("migrate", "--verbosity", "0")
    manage("load_reference")
    manage("load_affairs")
    with psycopg.connect(DB_URL) as conn:
        held = conn.execute("SELECT count(*) FROM prefserver_identity_person").fetchone()[0]  # type: ignore[index]
    if held >= residents:
        print(f"reusing {held:,} persons in {DB_NAME}")
        return
    if held:
        sys.exit(f"{DB_NAME} holds {held:,} persons, fewer than {residents:,}: run with --reload")
    started = time.monotonic()
    manage("generate_population", "--prefecture", "35", "--residents", str(residents), "--history-per-person", "0",
           "--workers", "2")  # fmt: skip
    print(f"loaded {residents:,} residents in {time.monotonic() - started:.0f} s")
    with psycopg.connect(DB_URL, autocommit=True) as conn:
        conn.execute("ANALYZE")


def prepare_actors(clients: int) -> tuple[list[str], list[str]]:
    """Operators, terminal, usage approvals, tokens; and a random sample of current residents' codes."""
    os.environ.update(env())
    import django

    django.setup()
    from django.db import connection, transaction

    from audit.access import usage_approval_valid
    from audit.authentication import api_token_issue
    from audit.models import Office, Operator, Terminal, UsageApproval
    from jukinet import clock
    from provision.access import credential_hash

    with transaction.atomic():
        office = Office.objects.get(code="BODY-EDU")
        terminal, _ = Terminal.objects.update_or_create(
            name="bench-lookup",
            defaults={"kind": "business", "office": office, "credential_hash": credential_hash(TERMINAL_KEY),
                      "capabilities": ["search", "provide"], "is_active": True},
        )  # fmt: skip
        tokens = []
        now = clock.now()
        for index in range(clients):
            operator, _ = Operator.objects.update_or_create(
                username=f"bench-edu-{index:02d}",
                defaults={"office": office, "roles": ["body_operator"], "display_name": f"bench {index}"},
            )
            if usage_approval_valid(operator=operator, terminal=terminal) is None:  # one a day, not one per run
                UsageApproval.objects.create(
                    operator=operator, office=office, terminal=terminal, purpose="bench", requested_at=now,
                    status=UsageApproval.Status.APPROVED, devices_checked=True, approved_at=now,
                    valid_until=clock.end_of_day(clock.today()),
                )  # fmt: skip
            tokens.append(api_token_issue(operator=operator, terminal=terminal)[0])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT v.resident_code FROM prefserver_identity_person p TABLESAMPLE SYSTEM (5)"
            " JOIN prefserver_identity_version v ON v.id = p.current_version_id"
            " AND v.expiry_year = p.current_version_expiry_year"
            " WHERE NOT v.deleted AND NOT v.removed LIMIT %s",
            [SAMPLE_CODES],
        )
        codes = [row[0] for row in cursor.fetchall()]
    connection.close()
    return codes, tokens


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_gunicorn(
    port: int, workers: int, threads: int, worker_class: str = "gthread", app: str = "jukinet.wsgi:application"
) -> subprocess.Popen[bytes]:
    command = [
        str(Path(sys.executable).parent / "gunicorn"), app, "-c", "python:jukinet.gunicorn_conf",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--worker-class", worker_class,
        "--threads", str(threads), "--log-level", "warning", "--backlog", "2048",
    ]  # fmt: skip  # the web process's own settings and hooks (jukinet/gunicorn_conf.py), shape from the options
    process = subprocess.Popen(command, cwd=ROOT, env=env(), start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    sys.exit("gunicorn did not start")


def _cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the given processes (Linux /proc), in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def _server_pids(server: subprocess.Popen[bytes], sealer: subprocess.Popen[bytes]) -> dict[str, list[int]]:
    """gunicorn's processes, the PostgreSQL processes (the bench database's backends and the server's own
    background processes: WAL writer, checkpointer, …), Redis (the throttle) and the sealer, by group."""
    import psycopg

    children = subprocess.run(["pgrep", "-g", str(server.pid)], capture_output=True, text=True).stdout.split()
    with psycopg.connect(ADMIN_URL) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s OR backend_type <> 'client backend'",
            [DB_NAME],
        ).fetchall()
    redis = subprocess.run(["pgrep", "-f", "redis-server 127.0.0.1:"], capture_output=True, text=True).stdout.split()
    return {"gunicorn": [int(pid) for pid in children], "PostgreSQL": [int(row[0]) for row in rows],
            "Redis": [int(pid) for pid in redis], "sealer": [sealer.pid]}  # fmt: skip


def _connections_per_worker(port: int) -> list[int]:
    """How the load generator's open connections are spread over gunicorn's workers (ss), largest first."""
    import collections

    out = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"], capture_output=True,
                         text=True).stdout  # fmt: skip
    return sorted(collections.Counter(re.findall(r"pid=(\d+)", out)).values(), reverse=True)


def _sample_spread(port: int, into: list[list[int]]) -> None:
    into.append(_connections_per_worker(port))


def run_wrk(url: str, script: Path, clients: int, duration: int) -> dict[str, float]:
    threads = min(2, clients)  # wrk refuses more threads than connections
    command = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{duration}s", "--timeout", "10s", "--latency",
               "-s", str(script), url]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    timeouts = re.search(r"timeout (\d+)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1]),  # type: ignore[index]
        "p50": _ms(re.search(r"\s50%\s+([\d.]+\w+)", output)[1]),  # type: ignore[index]
        "p99": _ms(re.search(r"\s99%\s+([\d.]+\w+)", output)[1]),  # type: ignore[index]
        "requests": float(re.search(r"(\d+) requests in", output)[1]),  # type: ignore[index]
        "non_2xx": float(non_2xx[1]) if non_2xx else 0.0,
        "timeouts": float(timeouts[1]) if timeouts else 0.0,
    }


def _payloads(port: int, path: str, codes: list[str], tokens: list[str]) -> list[bytes]:
    """Requests for the open loop: random current residents' codes and operators' tokens, as wrk's script."""
    import json
    import random

    chooser = random.Random(1)
    payloads = []
    for _ in range(5000):
        body = json.dumps({"affair": "S6-EDU-01", "conditions": {"resident_code": chooser.choice(codes)},
                           "document_reference": "bench"}).encode()  # fmt: skip
        headers = {"Authorization": f"Bearer {chooser.choice(tokens)}", "X-Terminal-Key": TERMINAL_KEY}
        payloads.append(openloop.post_request("127.0.0.1", port, path, body, headers))
    return payloads


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def probed_open_loop(port: int, payloads: list[bytes], *, rate: float, duration: float, clients: int) -> Any:
    """An open-loop run (bench/openloop.py) with the host probe beside it: (result, the probe's line)."""
    with HostProbe() as probe:
        result = openloop.run("127.0.0.1", port, payloads, rate=rate, duration=duration, connections=clients)
    return result, probe.summary()


def machine_floor(args: argparse.Namespace, codes: list[str], tokens: list[str]) -> Any:
    """The open loop at the target rate against bench/floor.py (no Django, no database) under a gunicorn of
    the same shape and settings: the p99 that the load generator, gunicorn and the machine's CPU stalls give
    by themselves, to read the two endpoints' p99 against. (result, the probe's line)."""
    port = free_port()
    server = start_gunicorn(port, args.workers, args.threads, args.worker_class, app="bench.floor:application")
    try:
        payloads = _payloads(port, "/api/v1/identity/lookup", codes, tokens)
        return probed_open_loop(port, payloads, rate=args.rate, duration=args.duration, clients=args.clients)
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=int, default=20)
    # Default: the web process's own shape (jukinet/gunicorn_conf.py, measured best of 3×4, 4×3, 2×6, 6×2, 8×1).
    parser.add_argument("--workers", type=int, default=gunicorn_conf.workers)
    parser.add_argument("--threads", type=int, default=gunicorn_conf.threads)
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument("--rate", type=float, default=500, help="open-loop arrival rate (req/s) for latency")
    parser.add_argument("--reload", action="store_true", help="drop and re-create the bench database")
    parser.add_argument(
        "--sweep",
        default="200,300,400",
        help="lower open-loop rates (req/s, comma-separated) for the real path: where p99 ≤ 50 ms holds",
    )
    parser.add_argument("--sweep-duration", type=int, default=10)
    args = parser.parse_args()

    prepare_database(args.residents, args.reload)
    codes, tokens = prepare_actors(args.clients)
    print(f"{len(codes):,} sampled resident codes, {len(tokens)} operators with tokens")
    with tempfile.TemporaryDirectory() as tmp:
        scripts = {}
        for name, path in (("real", "/api/v1/identity/lookup"), ("bare", "/api/bench/bare/lookup")):
            scripts[name] = Path(tmp) / f"{name}.lua"
            scripts[name].write_text(LUA % {
                "codes": ",".join(f'"{c}"' for c in codes), "tokens": ",".join(f'"{t}"' for t in tokens),
                "path": path, "key": TERMINAL_KEY,
            })  # fmt: skip
        port = free_port()
        server = start_gunicorn(port, args.workers, args.threads, args.worker_class)
        # The log's sealer, as beat would run it (audit.services.operation_log_seal every 2 s): its CPU is
        # part of what each lookup costs, so it is counted with the server's.
        sealer = subprocess.Popen([sys.executable, "manage.py", "seal_operation_log", "--every", "2"], cwd=ROOT,
                                  env=env(), start_new_session=True)  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            for name in ("bare", "real"):  # warm-up: connections, caches
                run_wrk(url, scripts[name], args.clients, 3)
            results: dict[str, dict[str, Any]] = {}
            for name in ("real", "bare"):
                groups = _server_pids(server, sealer)
                before = {group: _cpu_seconds(pids) for group, pids in groups.items()}
                spread: list[list[int]] = []
                sampler = threading.Timer(min(3.0, args.duration / 2), _sample_spread, args=(port, spread))
                sampler.start()
                with HostProbe() as probe:
                    results[name] = dict(run_wrk(url, scripts[name], args.clients, args.duration))
                results[name]["host"] = probe.summary()
                sampler.join()
                results[name]["spread"] = spread[0] if spread else []
                # CPU of the server side (gunicorn, PostgreSQL, the sealer) per request: the shared machine's
                # wall figures include other processes' load, this does not.
                per_request = 1000 / max(results[name]["requests"], 1)
                split = {group: (_cpu_seconds(pids) - before[group]) * per_request for group, pids in groups.items()}
                results[name]["cpu_ms"] = sum(split.values())
                results[name]["split"] = split
            open_loop = {
                name: probed_open_loop(port, _payloads(port, path, codes, tokens), rate=args.rate,
                                       duration=args.duration, clients=args.clients)
                for name, path in (("real", "/api/v1/identity/lookup"), ("bare", "/api/bench/bare/lookup"))
            }  # fmt: skip
            real_payloads = _payloads(port, "/api/v1/identity/lookup", codes, tokens)
            sweep = {
                rate: probed_open_loop(port, real_payloads, rate=rate, duration=args.sweep_duration,
                                       clients=args.clients)
                for rate in sorted(float(r) for r in args.sweep.split(",") if r.strip())
            }  # fmt: skip
        finally:
            os.killpg(server.pid, 15)
            server.wait(timeout=30)
            sealer.terminate()
            sealer.wait(timeout=30)
        open_loop["floor"] = machine_floor(args, codes, tokens)
    server_shape = f"gunicorn {args.workers} workers × {args.threads} threads ({args.worker_class})"
    print(f"\nresidents {args.residents:,}; {server_shape}; wrk {args.clients} connections, {args.duration} s each; "
          f"cores: {os.cpu_count()}")  # fmt: skip
    for name, label in (("real", "real lookup (auth, affair, record, log)"), ("bare", "bare DRF (same row)")):
        r = results[name]
        counts = f"{int(r['requests']):,} requests, non-2xx {int(r['non_2xx'])}, timeouts {int(r['timeouts'])}"
        print(f"{label:42s} {r['rps']:8.1f} req/s  p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms  ({counts})")
        print(
            f"{'':42s} server CPU {r['cpu_ms']:.2f} ms/request → idle 2-core ceiling ≈ {2000 / r['cpu_ms']:,.0f} req/s"
        )
        print(f"{'':42s} of which " + ", ".join(f"{group} {ms:.2f}" for group, ms in r["split"].items()))
        print(f"{'':42s} wrk's connections per gunicorn worker: {r['spread']}")
        print(f"{'':42s} {r['host']}")
    ratio = results["real"]["rps"] / results["bare"]["rps"]
    cpu_ratio = results["bare"]["cpu_ms"] / results["real"]["cpu_ms"]
    print(f"ratio real/bare: {ratio:.2f} (by server CPU per request: {cpu_ratio:.2f})")
    print(f"\nopen loop: {args.rate:.0f} req/s scheduled for {args.duration} s on {args.clients} connections "
          "(latency from the scheduled time)")  # fmt: skip
    for name, label in (("real", "real lookup (auth, affair, record, log)"), ("bare", "bare DRF (same row)"),
                        ("floor", "floor (minimal WSGI app, same gunicorn)")):  # fmt: skip
        o, host = open_loop[name]
        print(f"{label:42s} {o.achieved_rps:8.1f} req/s  p50 {o.p50_ms:6.1f} ms  p99 {o.p99_ms:6.1f} ms  "
              f"max {o.max_ms:7.1f} ms  ({o.completed:,}/{o.scheduled:,} answered, non-2xx {o.non_2xx}, "
              f"errors {o.errors})")  # fmt: skip
        print(f"{'':42s} {host}")
    if sweep:
        print(f"\nreal lookup, open loop at lower rates ({args.sweep_duration} s each):")
        for rate, (o, host) in sweep.items():
            ok = o.completed == o.scheduled and o.errors == 0 and o.non_2xx == 0 and o.p99_ms <= 50
            print(f"  {rate:6.0f} req/s scheduled: {o.achieved_rps:6.1f} achieved  p50 {o.p50_ms:6.1f} ms  "
                  f"p99 {o.p99_ms:7.1f} ms  {'p99 ≤ 50 ms' if ok else ''}")  # fmt: skip
            print(f"  {'':24s} {host}")
        held = [rate for rate, (o, _) in sweep.items() if o.completed == o.scheduled and o.p99_ms <= 50]
        print(f"  highest swept rate with p99 ≤ 50 ms: {max(held):.0f} req/s" if held else "  none within 50 ms")
    real, latency = results["real"], open_loop["real"][0]
    at_rate = latency.completed == latency.scheduled and latency.errors == 0 and latency.non_2xx == 0
    met = real["rps"] >= 500 and at_rate and latency.p99_ms <= 50 and ratio >= 0.3
    print(
        f"targets: ≥ 500 req/s at saturation ({real['rps']:.0f}), p99 ≤ 50 ms at {args.rate:.0f} req/s "
        f"({latency.p99_ms:.1f} ms), ratio ≥ 0.3 ({ratio:.2f}) → {'met' if met else 'NOT met'}"
    )


if __name__ == "__main__":
    main()

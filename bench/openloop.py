"""Open-loop HTTP load at a fixed arrival rate, latency measured from each request's scheduled time.

A closed loop (wrk: each of N connections sends its next request when the previous answer arrives) measures
the server at saturation, where Little's law fixes the mean latency at N / throughput: with 32 connections no
server below 640 req/s can show a 50 ms p99, however fast each request is. Latency targets are therefore
measured here the way wrk2 does: requests are scheduled at `rate` per second whatever the answers do, sent on
the first free one of `connections` keep-alive connections, and each latency counts from the scheduled time,
so time spent queued behind a slow answer is included (no coordinated omission). The connections are opened
and each sends one untimed request before the clock starts (see `worker`).

    run(host, port, requests=[bytes, ...], rate=500, duration=20, connections=32) -> OpenLoopResult
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class OpenLoopResult:
    scheduled: int
    completed: int
    errors: int
    non_2xx: int
    achieved_rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of `values` lie (nearest rank); nan for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


async def _run(host: str, port: int, requests: Sequence[bytes], rate: float, duration: float,
               connections: int) -> OpenLoopResult:  # fmt: skip
    total = int(rate * duration)
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    latencies: list[float] = []
    counts = {"errors": 0, "non_2xx": 0}

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        # Each connection's first request is sent before the clock starts and not timed: on a burst of new
        # connections gunicorn's gthread workers answer the first request of each up to ~1 s late (measured:
        # a 250 req/s run of the bare view had p99 62 ms with its first 0.12 s of requests at 580-770 ms, and
        # p99 25 ms with this warm-up). Clients of the lookup API keep their connections; the target is the
        # steady state on them, as wrk2 measures after its calibration.
        writer.write(requests[0])
        await _read_response(reader)
        ready.append(True)
        while True:
            item = await queue.get()
            if item is None:
                writer.close()
                return
            scheduled, payload = item
            try:
                writer.write(payload)
                status = await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                counts["errors"] += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            latencies.append(time.perf_counter() - scheduled)
            if not 200 <= status < 300:
                counts["non_2xx"] += 1

    ready: list[bool] = []
    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    deadline = time.perf_counter() + 60
    while len(ready) < connections:  # every connection open and past its first request before the clock starts
        if time.perf_counter() > deadline or any(w.done() for w in workers):
            raise RuntimeError(f"only {len(ready)} of {connections} connections answered their first request")
        await asyncio.sleep(0.05)
    start = time.perf_counter()
    payloads = itertools.cycle(requests)
    for index in range(total):
        scheduled = start + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((scheduled, next(payloads)))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - start
    return OpenLoopResult(
        scheduled=total, completed=len(latencies), errors=counts["errors"], non_2xx=counts["non_2xx"],
        achieved_rps=len(latencies) / elapsed, p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000, max_ms=max(latencies, default=float("nan")) * 1000,
    )  # fmt: skip


def run(host: str, port: int, requests: Sequence[bytes], *, rate: float, duration: float,
        connections: int = 32) -> OpenLoopResult:  # fmt: skip
    return asyncio.run(_run(host, port, requests, rate, duration, connections))


def post_request(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """One keep-alive HTTP/1.1 POST as bytes."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json",
             f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

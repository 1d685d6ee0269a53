"""How much of a benchmark run the machine itself was slow: a fixed unit of CPU work, timed every 20 ms.

This VM's CPU is not steady. On an idle machine (nothing of ours running), a Python loop that takes 1.6 ms of
thread CPU took up to 16.6 ms in bursts of about 0.1 s every 0.3-4 s: the host stalls or slows the virtual CPU,
and the guest charges that time to whatever thread was running. Every process is slowed at once, so a request
that falls in a burst is late whatever the server does (the lookup bench's "stall clusters": all four gunicorn
workers' requests used 5-10× their usual CPU in the same 50 ms), and CPU-per-request figures include the bursts.

The probe runs beside a benchmark as its own process, repeats a fixed unit of about 0.25 ms of CPU every 20 ms
(about 1 % of a core) and measures each unit's thread CPU time, which does not grow when the probe merely waits
for a core (the benchmark's own load), only when the core it runs on is slow. A sample counts as slowed when
its unit took ≥ 3× the fastest decile's time. Printed per run:

    host: CPU slowed ≥3× in 4.1 % of 1,000 samples (longest burst ≈ 120 ms); mean unit time 1.31× the best (262 µs)

    with HostProbe() as probe:
        ...                      # the measurement
    print(probe.summary())

Run alone (`python bench/hostprobe.py --seconds 10`) it shows the idle machine's bursts.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType

INTERVAL = 0.02
ROUNDS = 5000  # fixed, so that unit times compare between runs: ~0.25 ms at this VM's full speed
SLOW_FACTOR = 3.0


def _unit(rounds: int) -> int:
    total = 0
    for i in range(rounds):
        total += i * i
    return total


def probe(seconds: float | None) -> list[float]:
    """Unit CPU times (s) every INTERVAL until `seconds` pass or SIGTERM arrives."""
    stop = False

    def _stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    samples: list[float] = []
    deadline = None if seconds is None else time.monotonic() + seconds
    while not stop and (deadline is None or time.monotonic() < deadline):
        started = time.thread_time()
        _unit(ROUNDS)
        samples.append(time.thread_time() - started)
        time.sleep(INTERVAL)
    return samples


@dataclass(frozen=True)
class ProbeSummary:
    samples: int
    slowed_fraction: float  # samples whose unit took >= SLOW_FACTOR x the fastest decile's time
    longest_burst_ms: float  # consecutive slowed samples x INTERVAL
    mean_factor: float  # mean unit time / the fastest decile's time
    best_us: float  # the fastest decile's unit time: the machine at full speed, comparable between runs

    def __str__(self) -> str:
        if not self.samples:
            return "host: no probe samples"
        return (
            f"host: CPU slowed ≥{SLOW_FACTOR:.0f}× in {self.slowed_fraction * 100:.1f} % of {self.samples:,} samples "
            f"(longest burst ≈ {self.longest_burst_ms:.0f} ms); mean unit time {self.mean_factor:.2f}× the best "
            f"({self.best_us:.0f} µs)"
        )


def summarise(samples: list[float]) -> ProbeSummary:
    if not samples:
        return ProbeSummary(0, 0.0, 0.0, 0.0, 0.0)
    ordered = sorted(samples)
    best = ordered[len(ordered) // 10] or ordered[-1] or 1e-9  # the fastest decile: the machine at full speed
    slowed = [value >= SLOW_FACTOR * best for value in samples]
    longest = run = 0
    for flag in slowed:
        run = run + 1 if flag else 0
        longest = max(longest, run)
    return ProbeSummary(
        samples=len(samples), slowed_fraction=sum(slowed) / len(samples), longest_burst_ms=longest * INTERVAL * 1000,
        mean_factor=sum(samples) / len(samples) / best, best_us=best * 1e6,
    )  # fmt: skip


class HostProbe:
    """The probe as a child process for the duration of a `with` block."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._summary = summarise([])

    def __enter__(self) -> HostProbe:
        self._process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())], stdout=subprocess.PIPE, text=True
        )  # fmt: skip
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        assert self._process is not None
        self._process.terminate()
        output, _ = self._process.communicate(timeout=30)
        try:
            self._summary = summarise(json.loads(output or "[]"))
        except ValueError:
            self._summary = summarise([])

    def summary(self) -> ProbeSummary:
        return self._summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, help="run this long and print the summary (default: until SIGTERM, "
                        "then print the samples as JSON for HostProbe)")  # fmt: skip
    args = parser.parse_args()
    samples = probe(args.seconds)
    print(summarise(samples) if args.seconds is not None else json.dumps(samples))


if __name__ == "__main__":
    main()

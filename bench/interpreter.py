"""How fast each Python 3.11 on this machine runs the same stdlib-only work: why the Makefile makes the virtualenv
from Debian's /usr/bin/python3.11 (built with profile-guided optimisation and LTO, linked statically) rather than
the first python3.11 on PATH (here pyenv's: a default source build, with a shared libpython).

Each interpreter runs this file with --child: a unit of the kind of work intake does per notice (canonical JSON
encoding and decoding of an envelope, a SHA-256 and an HMAC, a dict comprehension, small objects, an integer
loop), timed by thread CPU over many repetitions. The interpreters take turns, round after round, so that the
host's slow spells (bench/hostprobe.py) fall on both; the best round of each is the least disturbed. The first
interpreter is the baseline of the printed ratio.

    python bench/interpreter.py [--rounds 7] [INTERPRETER ...]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ENVELOPE = {
    "notice_id": "352012-20261126-44cb63-0000001", "municipality_code": "352012", "file": "identity",
    "change_reason": "21", "change_date": "2026-11-26", "update_sequence": 7, "resident_code": "12345678903",
    "operator_id": "OP0029", "terminal_id": "T01",
    "payload": {f"field_{i}": "山口県山口市駅前4丁目1番13号" if i % 3 else i for i in range(30)},
}  # fmt: skip
_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_KEY = b"k" * 32


class _Row:
    __slots__ = ("a", "b")

    def __init__(self, a: object, b: object) -> None:
        self.a, self.b = a, b


def unit() -> int:
    text = _encode(ENVELOPE)
    decoded = json.loads(text)
    hashlib.sha256(text.encode()).hexdigest()
    hmac.digest(_KEY, decoded["resident_code"].encode(), "sha256")
    kept = {key: value for key, value in decoded["payload"].items() if value is not None}
    rows = [_Row(key, value) for key, value in kept.items()]
    total = 0
    for i in range(200):
        total += i * i
    return total + len(rows)


def child(repetitions: int) -> float:
    """Thread CPU µs per unit for one round."""
    started = time.thread_time()
    for _ in range(repetitions):
        unit()
    return (time.thread_time() - started) / repetitions * 1e6


def default_interpreters() -> list[str]:
    """Every distinct python3.11 we can name: the first on PATH, then Debian's."""
    found = []
    for name in (shutil.which("python3.11"), "/usr/bin/python3.11"):
        if name and Path(name).exists():
            real = subprocess.run(
                [name, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True, check=True
            ).stdout.strip()
            if real not in found:
                found.append(real)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("interpreters", nargs="*")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repetitions", type=int, default=3000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(f"{child(args.repetitions):.3f}")
        return 0
    interpreters = args.interpreters or default_interpreters()
    if not interpreters:
        parser.error("no python3.11 found")
    times: dict[str, list[float]] = {name: [] for name in interpreters}
    for _ in range(args.rounds):
        for name in interpreters:
            out = subprocess.run(
                [name, __file__, "--child", "--repetitions", str(args.repetitions)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            times[name].append(float(out.stdout))
    base = min(times[interpreters[0]])
    for name, values in times.items():
        values.sort()
        print(
            f"{name}: best {values[0]:.1f} µs per unit, median {values[len(values) // 2]:.1f}"
            f" ({values[0] / base:.2f} of the first)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

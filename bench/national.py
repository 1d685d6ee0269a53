"""Receipt throughput of the simulated national server.

Real path: NationalClient → mutual TLS → national/server.py (a separate process) → its store (memory and
journal), in batches.
Baseline: the same updates through national.store.Store.receive() in this process (no HTTP, no TLS).
Prints both rates and the ratio; every figure is measured in this run.

    python bench/national.py [--updates 50000] [--batch 1000]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from national.identifiers import individual_number_check_digit, resident_code_check_digit
from national.store import Store
from national.testing import running_server
from prefserver.national_client import NationalClient


def updates(count: int) -> list[dict[str, object]]:
    out = []
    for i in range(count):
        code = f"8{i:09d}"
        number = f"6{i:010d}"
        out.append(
            {
                "resident_code": code + str(resident_code_check_digit(code)),
                "name": "見本　太郎",
                "name_kana": "ミホン　タロウ",
                "birth_date": "1980-04-01",
                "sex": 1,
                "address": f"山口県山口市見本町{i}番",
                "individual_number": number + str(individual_number_check_digit(number)),
                "change_reason": "11",
                "change_date": "2025-04-01",
                "update_sequence": 1,
                "revision": 0,
            }
        )
    return out


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of another process on this machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    data = updates(args.updates)
    batches = [data[i : i + args.batch] for i in range(0, len(data), args.batch)]
    with tempfile.TemporaryDirectory() as tmp:
        with running_server(Path(tmp) / "server", "--seed-population", "0") as server:
            p = server.pki
            client = NationalClient(server.url, p.ca_cert, p.client_cert, p.client_key, server.server_pin)
            server_cpu, client_cpu = process_cpu(server.process.pid), own_cpu()
            started = time.perf_counter()
            accepted = sum(
                ack.status == "accepted" for batch in batches for ack in client.send_updates("identity", batch)
            )
            real = time.perf_counter() - started
            server_cpu, client_cpu = process_cpu(server.process.pid) - server_cpu, own_cpu() - client_cpu
            started = time.perf_counter()
            repeats = sum(
                ack.status == "duplicate" for batch in batches for ack in client.send_updates("identity", batch)
            )
            replay = time.perf_counter() - started
        store = Store(Path(tmp) / "baseline" / "national.journal")
        started, base_cpu = time.perf_counter(), own_cpu()
        base_accepted = sum(store.receive("identity", batch).accepted for batch in batches)
        baseline, base_cpu = time.perf_counter() - started, own_cpu() - base_cpu
        store.close()
    n = len(data)
    print(f"updates: {n}, batch: {args.batch}")
    print(f"real path (client, mTLS, server, store): {n / real:,.0f} updates/s ({accepted} accepted)")
    print(
        f"  CPU per update: server process {1e6 * server_cpu / n:.0f} µs, client {1e6 * client_cpu / n:.0f} µs;"
        f" baseline store alone {1e6 * base_cpu / n:.0f} µs"
    )
    print(f"replay of the same updates (all duplicate): {n / replay:,.0f} updates/s ({repeats} duplicate)")
    print(f"baseline (Store.receive in process): {n / baseline:,.0f} updates/s ({base_accepted} accepted)")
    print(f"ratio real / baseline: {baseline / real:.2f}")
    return 0 if accepted == n == repeats == base_accepted else 1


if __name__ == "__main__":
    sys.exit(main())

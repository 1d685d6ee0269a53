"""manage.py simulate_cs --rate R --duration S [--wait-for-web] [--url URL]: the municipal CS simulator.

Sends a realistic stream of notices (prefserver.cs_simulator) to POST /cs/v1/notices, each municipality
with its own credential (the demo's keys in var/secrets/cs-keys.json; issued here when missing). Duration 0
runs until stopped. Demo only: it reads current persons from the prefecture's database to continue their
update_sequence, as the real 市町村CS would from its own register, and asks the national simulator for the
counters of movers from other prefectures. Output: counts only, never personal data.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.error
import urllib.request
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from jukinet import clock
from jukinet.demo import cs_demo_keys
from jukinet.reference import prefecture_municipalities
from prefserver.cs_simulator import CsStream, SimPerson


def _bootstrap(stream: CsStream, *, limit: int) -> int:
    """Current persons of file (1), so that changes continue their counters (demo only)."""
    from prefserver.models import IdentityVersion
    from prefserver.versions import content_of

    versions = IdentityVersion.objects.filter(is_current=True, removed=False, deleted=False).order_by("?")[:limit]
    count = 0
    for version in versions:
        content = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in content_of(version).items()}
        stream.add_person(SimPerson(version.resident_code, version.update_sequence, version.municipality_code, content))
        count += 1
    return count


def _outside_movers(limit: int) -> list[dict[str, Any]]:
    """Persons the national simulator holds (its seeded population) not already registered here."""
    from national.population import generate
    from prefserver.models import IdentityResidentCode

    movers = [identity for identity, _ in generate(limit, seed=1)]
    known = set(
        IdentityResidentCode.objects.filter(resident_code__in=[m["resident_code"] for m in movers]).values_list(
            "resident_code", flat=True
        )
    )
    return [m for m in movers if m["resident_code"] not in known]


def _national_sequences() -> Any:
    from prefserver.national_client import NationalClient, NationalError

    try:
        client = NationalClient.from_settings(timeout=5)
    except NationalError:
        return None

    def sequences(codes: list[str]) -> dict[str, int | None]:
        try:
            return client.sequences_of(codes)
        except NationalError:
            return dict.fromkeys(codes)

    return sequences


def _post(url: str, key: str, notices: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
    body = json.dumps({"notices": notices}, ensure_ascii=False).encode()
    request = urllib.request.Request(  # noqa: S310 - the configured prefecture URL
        url, data=body, method="POST", headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read()).get("receipts", [])
    except urllib.error.HTTPError as exc:
        return exc.code, []


def _wait_for_web(base: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=3) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1)
    raise TimeoutError("the web server did not come up")


class Command(BaseCommand):
    help = "市町村CSを模擬し、更新通知を送信します（合成データ）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rate", type=float, default=2.0, help="notices per second")
        parser.add_argument("--duration", type=float, default=60.0, help="seconds; 0 = until stopped")
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--wait-for-web", action="store_true")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--valid-only", action="store_true")
        parser.add_argument("--bootstrap", type=int, default=5000, help="current persons to continue (demo)")

    def handle(self, *args: Any, **options: Any) -> None:
        base = options["url"].rstrip("/")
        if options["wait_for_web"]:
            _wait_for_web(base)
        municipalities = [(m.code, m.name) for m in prefecture_municipalities()]
        keys = cs_demo_keys()
        stream = CsStream(
            municipalities=municipalities,
            seed=options["seed"] if options["seed"] is not None else time.time_ns(),
            today=clock.today(),
            valid_only=options["valid_only"],
            national_sequences=_national_sequences(),
            outside_movers=_outside_movers(1000),
        )
        known = _bootstrap(stream, limit=options["bootstrap"])
        self.stdout.write(f"simulate_cs: {len(municipalities)} municipalities, {known} persons bootstrapped")
        rate, duration = options["rate"], options["duration"]
        tick = max(1.0, 1.0 / rate) if rate > 0 else 1.0
        started = time.monotonic()
        totals: Counter[str] = Counter()
        owed = 0.0
        while duration == 0 or time.monotonic() - started < duration:
            owed += rate * tick
            count, owed = int(owed), owed - int(owed)
            by_municipality: dict[str, list[dict[str, Any]]] = {}
            for notice in stream.take(count):
                by_municipality.setdefault(notice["municipality_code"], []).append(notice)
            for code, notices in by_municipality.items():
                try:
                    status, receipts = _post(f"{base}/cs/v1/notices", keys[code], notices)
                except (urllib.error.URLError, OSError):
                    totals["unreachable"] += len(notices)
                    continue
                totals[f"http_{status}"] += 1
                totals.update(receipt.get("status", "?") for receipt in receipts)
            if sum(totals.values()) and int(time.monotonic() - started) % 60 < tick:
                self.stdout.write("simulate_cs: " + " ".join(f"{k}={v}" for k, v in sorted(totals.items())))
            time.sleep(tick)
        self.stdout.write("simulate_cs: done " + " ".join(f"{k}={v}" for k, v in sorted(totals.items())))

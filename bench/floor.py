"""The machine's floor for bench/lookup.py: a minimal WSGI application under the same gunicorn.

It reads the request body and answers a fixed JSON body of a lookup answer's size, with no Django, no DRF and
no database. The open loop at the target rate against it shows what the load generator, the network stack,
gunicorn and the machine's own CPU stalls alone do to the p99, beside the bare DRF view and the real lookup.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

# A lookup answer's size and shape (synthetic values).
BODY = json.dumps(
    {
        "result": "released",
        "record": {
            "resident_code": "00000000000", "name": "見本　太郎", "name_kana": "ミホン　タロウ",
            "birth_date": "1980-04-01", "sex": 1, "address": "山口県見本町1番", "change_reason": "12",
            "change_date": "1980-04-01",
        },
        "provision_record": 1,
    },
    ensure_ascii=False,
    separators=(",", ":"),
).encode()  # fmt: skip


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]

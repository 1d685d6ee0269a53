"""The machine's floor for bench/lookup.py: a minimal WSGI application under the same gunicorn.

It reads the request body and answers a fixed JSON body of a lookup answer's size, with no Django, no DRF and
no database. The open loop at the target rate against it shows what the load generator, the network stack,
gunicorn and the machine's own CPU stalls alone do to the p99, beside the bare DRF view and the real lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

BODY = (
    b'{"result":"released","record":{"resident_code":"00000000000","name":"\xe8\xa6\x8b\xe6\x9c\xac\xe3\x80\x80'
    b'\xe5\xa4\xaa\xe9\x83\x8e","name_kana":"\xe3\x83\x9f\xe3\x83\x9b\xe3\x83\xb3\xe3\x80\x80\xe3\x82\xbf\xe3'
    b'\x83\xad\xe3\x82\xa6","birth_date":"1980-04-01","sex":1,"address":"\xe5\xb1\xb1\xe5\x8f\xa3\xe7\x9c\x8c'
    b'\xe8\xa6\x8b\xe6\x9c\xac\xe7\x94\xba1\xe7\x95\xaa","change_reason":"12","change_date":"1980-04-01"},'
    b'"provision_record":1}'
)


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]

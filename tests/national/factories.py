"""Synthetic updates and clients for the national-server tests (every code has a valid check digit)."""

from __future__ import annotations

import http.client
import itertools
import json
import ssl
from typing import Any

from national.identifiers import individual_number_check_digit, resident_code_check_digit
from national.testing import RunningServer
from prefserver.national_client import NationalClient

_serial = itertools.count(1)


def client_for(server: RunningServer, **overrides: Any) -> NationalClient:
    p = server.pki
    args: dict[str, Any] = {
        "base_url": server.url,
        "ca_file": p.ca_cert,
        "client_cert": p.client_cert,
        "client_key": p.client_key,
        "pinned_server_sha256": server.server_pin,
        "timeout": 10.0,
    }
    args.update(overrides)
    return NationalClient(**args)


def new_resident_code() -> str:
    body = f"7{next(_serial):09d}"
    return body + str(resident_code_check_digit(body))


def new_individual_number() -> str:
    body = f"5{next(_serial):010d}"
    return body + str(individual_number_check_digit(body))


def identity_update(**changes: Any) -> dict[str, Any]:
    update: dict[str, Any] = {
        "resident_code": new_resident_code(),
        "name": "見本　太郎",
        "name_kana": "ミホン　タロウ",
        "birth_date": "1980-04-01",
        "sex": 1,
        "address": "山口県山口市見本町一丁目2番3号",
        "individual_number": new_individual_number(),
        "change_reason": "11",
        "change_date": "2025-04-01",
        "update_sequence": 1,
        "revision": 0,
    }
    update.update(changes)
    return update


def furyo_update(**changes: Any) -> dict[str, Any]:
    update: dict[str, Any] = {
        "resident_code": new_resident_code(),
        "name": "見本　花子",
        "name_gaiji_count": 0,
        "name_kana": "ミホン　ハナコ",
        "birth_date": "1985-05-05",
        "sex": 2,
        "address_municipality_code": "131016",
        "address": "東京都千代田区見本町1番",
        "address_gaiji_count": 0,
        "last_address": None,
        "last_address_gaiji_count": None,
        "change_date": "2025-04-01",
        "former_resident_code": None,
        "furyo_municipality_code": "352039",
        "status": 1,
        "gaiji_flag": False,
        "gaiji_pattern": None,
        "notice_kind": "51",
        "update_sequence": 1,
        "revision": 0,
    }
    update.update(changes)
    return update


def received(client: NationalClient) -> int:
    stats = client.stats()
    return int(stats["updates_received"])


def raw_post(server: RunningServer, path: str, body: Any) -> tuple[int, Any]:
    """POST with the prefecture's certificate but without NationalClient's own guards."""
    context = ssl.create_default_context(cafile=str(server.pki.ca_cert))
    context.load_cert_chain(str(server.pki.client_cert), str(server.pki.client_key))
    connection = http.client.HTTPSConnection("127.0.0.1", server.port, context=context, timeout=10)
    try:
        connection.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()

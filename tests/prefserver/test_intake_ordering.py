"""Ordering (scenario 46): a shuffled and duplicated stream ends in the same state as in-order replay, on the
set-based and the per-notice path alike."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jukinet.identifiers import resident_code_check_digit, with_check_digit
from prefserver.intake.process import intake_process_pending
from prefserver.models import IdentityPerson, IdentityVersion, Notice
from tests.prefserver.intake_helpers import identity_payload, notice, receive

pytestmark = pytest.mark.django_db

_codes = itertools.count(3_000_000_000)
CHANGES = {
    "21": lambda i: {"address": f"山口県下関市見本町{i}番"},
    "22": lambda i: {"address": f"山口県下関市新町{i}番"},
    "23": lambda i: {"name": f"見本 {i}郎"},
    "28": lambda i: {"district_code": f"{i:04d}"},
}


def _story(reasons: list[str], removal: str | None) -> list[tuple[str, dict]]:
    """An entry, then changes, each carrying the full snapshot so far; maybe a final removal."""
    payload = identity_payload()
    steps = [("11", dict(payload))]
    for i, reason in enumerate(reasons, start=2):
        payload = {**payload, **CHANGES[reason](i)}
        steps.append((reason, dict(payload)))
    if removal:
        steps.append((removal, dict(payload)))
    return steps


def _notices(story: list[tuple[str, dict]], code: str) -> list[dict]:
    return [notice(reason, seq, resident_code=code, payload=p) for seq, (reason, p) in enumerate(story, start=1)]


def _state(code: str) -> tuple:
    person = IdentityPerson.objects.get(codes__resident_code=code)
    v = IdentityVersion.objects.get(pk=person.current_version_id)
    count = IdentityVersion.objects.filter(person=person).count()
    return (v.name, v.address, v.district_code, v.removed, v.update_sequence, v.change_reason, count)


stories = st.lists(
    st.tuples(
        st.lists(st.sampled_from(sorted(CHANGES)), min_size=0, max_size=4),
        st.sampled_from([None, "31", "32"]),
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stories=stories, seed=st.integers(0, 2**32), batch=st.integers(1, 4), fast=st.booleans())
def test_shuffled_duplicated_stream_equals_in_order_replay(stories, seed, batch, fast):
    rng = random.Random(seed)
    expected, actual = [], []
    for reasons, removal in stories:
        story = _story(reasons, removal)
        code_in_order = with_check_digit(f"{next(_codes):010d}", resident_code_check_digit)
        code_shuffled = with_check_digit(f"{next(_codes):010d}", resident_code_check_digit)
        # in-order replay, one notice at a time
        for sent in _notices(story, code_in_order):
            receive(sent)
            intake_process_pending()
        expected.append(_state(code_in_order))
        actual.append(code_shuffled)
        stream = _notices(story, code_shuffled)
        stream += rng.sample(stream, k=rng.randint(0, len(stream)))  # duplicates
        rng.shuffle(stream)
        # shuffled and duplicated, in random chunks, processed in small batches between chunks
        while stream:
            size = rng.randint(1, 3)
            chunk, stream = stream[:size], stream[size:]
            receive(*chunk)
            intake_process_pending(limit=batch, max_batches=rng.randint(0, 2), fast=fast)
        intake_process_pending(limit=batch, fast=fast)
    assert [_state(code) for code in actual] == expected
    assert not Notice.objects.filter(status__in=["pending", "held"]).exists()

"""Intake wake-ups: at most one waits in the queue; Redis stays a wake-up only (the inbox is the record)."""

from __future__ import annotations

import pytest

from prefserver import tasks
from prefserver.intake import receive


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Celery as in production (not eager); published wake-ups are recorded instead of sent."""
    from jukinet.celery import app

    published: list[str] = []
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    monkeypatch.setattr(tasks.intake_process_task, "delay", lambda: published.append("intake"))
    client = receive._wake_flag_client()
    client.delete(receive.WAKE_FLAG_KEY)
    yield published
    client.delete(receive.WAKE_FLAG_KEY)


def test_requests_committing_while_a_wake_up_waits_publish_no_other(queued: list[str]) -> None:
    # given three requests committing before any worker has started
    for _ in range(3):
        receive.wake_intake_worker()
    # then one wake-up waits in the queue, and its flag expires by itself
    assert queued == ["intake"]
    assert 0 < receive._wake_flag_client().ttl(receive.WAKE_FLAG_KEY) <= receive.WAKE_FLAG_SECONDS
    # when a worker starts that task (it clears the flag before claiming) and another request commits
    receive.wake_flag_clear()
    receive.wake_intake_worker()
    # then that request publishes a wake-up of its own: the running task may already have claimed
    assert queued == ["intake", "intake"]


def test_the_intake_task_clears_the_flag_before_it_claims(queued: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # given a waiting wake-up
    receive.wake_intake_worker()
    seen: list[int] = []

    def pending(**kwargs: object) -> int:
        seen.append(receive._wake_flag_client().exists(receive.WAKE_FLAG_KEY))
        return 0

    monkeypatch.setattr("prefserver.intake.process.intake_process_pending", pending)
    # when the task runs
    tasks.intake_process_task.run()
    # then the flag was gone by the time it looked for pending notices
    assert seen == [0]


def test_without_redis_the_wake_up_is_only_logged(queued: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # given a Redis that does not answer
    class Down:
        def set(self, *args: object, **kwargs: object) -> bool:
            raise ConnectionError("down")

    monkeypatch.setattr(receive, "_wake_flag_client", lambda: Down())
    # when a request commits, then nothing is raised (the beat sweeper dispatches stranded notices)
    receive.wake_intake_worker()
    assert queued == []

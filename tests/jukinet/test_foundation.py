"""The foundation's contracts: real services, reference data, settings that refuse bad values."""

import os
import subprocess
import sys

import pytest
import redis
from django.conf import settings
from django.db import connection

from jukinet.models import ChangeReason, Municipality, ResultCode
from jukinet.reference import prefecture_municipalities

pytestmark = pytest.mark.django_db


def test_runs_on_real_postgresql_and_redis():
    assert connection.vendor == "postgresql"
    assert redis.Redis.from_url(settings.REDIS_URL).ping()


def test_yamaguchi_master_has_its_19_municipalities():
    master = prefecture_municipalities()
    assert len(master) == 19
    assert {m.name for m in master} >= {"山口市", "阿武町", "下関市"}


def test_designated_city_wards_send_and_the_city_does_not():
    assert Municipality.objects.get(code="011002").is_sender is False  # 札幌市
    assert Municipality.objects.get(code="011011").is_sender is True  # 札幌市中央区
    assert Municipality.objects.get(code="131016").is_sender is True  # 千代田区


def test_code_tables_are_loaded():
    assert ChangeReason.objects.get(code="21").identifier == "move_within"
    assert ChangeReason.objects.filter(for_furyo=True).count() == 8  # 27, 51-54, 91, 92, 99
    assert ResultCode.objects.get(code="Q06").http_status == 200


def _start_process(env_extra):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "jukinet.settings.base", **env_extra}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=settings.BASE_DIR,
    )


def test_temporary_number_ttl_above_364_days_stops_start_up():
    result = _start_process({"TEMP_INDIVIDUAL_NUMBER_TTL_DAYS": "365"})
    assert result.returncode != 0
    assert "TEMP_INDIVIDUAL_NUMBER_TTL_DAYS" in result.stderr


def test_bad_prefecture_code_stops_start_up():
    result = _start_process({"PREFECTURE_CODE": "48"})
    assert result.returncode != 0
    assert "PREFECTURE_CODE" in result.stderr


def test_celery_worker_and_beat_refuse_the_same_bad_ttl():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "jukinet.settings.base",
        "TEMP_INDIVIDUAL_NUMBER_TTL_DAYS": "365",
    }
    for args in (["worker", "--pool=solo"], ["beat"]):
        result = subprocess.run(
            [sys.executable, "-m", "celery", "-A", "jukinet", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=settings.BASE_DIR,
        )
        assert result.returncode != 0
        assert "TEMP_INDIVIDUAL_NUMBER_TTL_DAYS" in result.stderr


def test_compose_file_is_valid():
    env = {
        **os.environ,
        "POSTGRES_PASSWORD": "x",
        "DJANGO_SECRET_KEY": "x",
        "INDIVIDUAL_NUMBER_KEYS": "x",
        "INDIVIDUAL_NUMBER_ACTIVE_KEY_ID": "x",
        "BLIND_INDEX_KEY": "x",
    }
    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config", "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=settings.BASE_DIR,
    )
    assert result.returncode == 0, result.stderr

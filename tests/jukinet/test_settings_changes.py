import datetime as dt

import pytest
from django.core.management import CommandError, call_command

from audit.models import OperationKind, OperationLogEntry
from jukinet import clock
from jukinet.config import setting_value
from jukinet.models import SettingValue
from jukinet.services import SettingError, setting_value_set

pytestmark = pytest.mark.django_db


def test_administrator_schedules_a_setting_and_the_change_is_logged(administrator):
    # given
    tomorrow = clock.today() + dt.timedelta(days=1)
    # when
    row = setting_value_set(operator=administrator, name="SEARCH_RESULT_CAP", value=30, effective_from=tomorrow)
    # then
    assert setting_value("SEARCH_RESULT_CAP") == 50
    assert setting_value("SEARCH_RESULT_CAP", on=tomorrow) == 30
    entry = OperationLogEntry.objects.get(kind=OperationKind.SETTING_CHANGED)
    assert entry.operator_id == administrator.pk
    assert entry.conditions == {"name": "SEARCH_RESULT_CAP", "effective_from": tomorrow.isoformat(), "value": 30}
    assert entry.targets == [["jukinet.settingvalue", str(row.pk)]]


@pytest.mark.parametrize(
    ("name", "value", "days", "message"),
    [("NO_SUCH", 1, 0, "設定名"), ("SEARCH_RESULT_CAP", "50", 0, "型"), ("RESIDENT_CODE_RELEASE", 1, 0, "型"),
     ("SEARCH_RESULT_CAP", 2.5, 0, "型"), ("SEARCH_RESULT_CAP", 40, -1, "過去")],
)  # fmt: skip
def test_refuses_unknown_names_wrong_types_and_past_dates(administrator, name, value, days, message):
    with pytest.raises(SettingError, match=message):
        setting_value_set(
            operator=administrator, name=name, value=value, effective_from=clock.today() + dt.timedelta(days=days)
        )
    assert not SettingValue.objects.exists()
    assert not OperationLogEntry.objects.filter(kind=OperationKind.SETTING_CHANGED).exists()


def test_settings_screen_is_for_administrators_only(client, login_with_otp, administrator, clerk, contractor):
    login_with_otp(client, clerk)
    assert client.get("/settings/").status_code == 403
    client.logout()
    login_with_otp(client, contractor)
    assert client.get("/settings/").status_code == 403
    client.logout()
    login_with_otp(client, administrator)
    response = client.get("/settings/")
    assert response.status_code == 200
    assert "SEARCH_RESULT_CAP" in response.content.decode()
    day = (clock.today() + dt.timedelta(days=2)).isoformat()
    response = client.post("/settings/", {"name": "IDLE_LOCK_MINUTES", "value": "10", "effective_from": day})
    assert response.status_code == 302
    assert SettingValue.objects.get(name="IDLE_LOCK_MINUTES").value == 10


def test_command_needs_an_administrator(administrator, clerk):
    with pytest.raises(CommandError):
        call_command("set_setting", "SEARCH_RESULT_CAP", "20", "--operator", clerk.username)
    call_command("set_setting", "SEARCH_RESULT_CAP", "20", "--operator", administrator.username)
    assert setting_value("SEARCH_RESULT_CAP") == 20

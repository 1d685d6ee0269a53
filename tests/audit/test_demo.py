import pytest

from audit.demo import DEMO_TERMINAL_KEY, audit_demo_setup
from audit.models import Operator, UsageApproval

pytestmark = pytest.mark.django_db


def test_demo_prints_logins_and_approves_todays_usage_once():
    lines = audit_demo_setup("demo-pass-2026")
    audit_demo_setup("demo-pass-2026")
    text = "\n".join(lines)
    assert "otpauth://totp/" in text and DEMO_TERMINAL_KEY in text and "予備コード" in text
    assert UsageApproval.objects.filter(status="approved").count() == 3
    assert set(Operator.objects.get(username="vendor01").roles) == {"contractor"}

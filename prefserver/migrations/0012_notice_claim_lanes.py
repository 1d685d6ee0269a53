"""The claim's index by lane: pending notices by (hashtext(resident_code) & 7, id), replacing the index by id alone
(prefserver.models.Lane; docs/intake.md "Claim lanes")."""

from django.db import migrations, models

import prefserver.models


class Migration(migrations.Migration):
    dependencies = [
        ("prefserver", "0011_notice_batch_without_constraint"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="notice",
            name="notice_pending_idx",
        ),
        migrations.AddIndex(
            model_name="notice",
            index=models.Index(
                prefserver.models.Lane("resident_code"),
                models.F("id"),
                condition=models.Q(("status", "pending")),
                name="notice_pending_lane_idx",
            ),
        ),
    ]

"""Notice.batch without a database foreign key: the decision UPDATE no longer queues a check per row (the field's
comment in prefserver/models.py)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("prefserver", "0010_version_guard_when"),
    ]

    operations = [
        migrations.AlterField(
            model_name="notice",
            name="batch",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="notices",
                to="prefserver.intakebatch",
                verbose_name="処理単位",
            ),
        ),
    ]

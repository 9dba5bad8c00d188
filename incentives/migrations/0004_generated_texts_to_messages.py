"""Existing statement lines (explanations and KPI values), proposed adjustments and badge details
as messages (metrics/messages.py), so an installation's statements read in both languages after
upgrading. A text no template of the day gives is left as it is. The demo's telesales plan loses
its internal reference ("种子 002") where its description is still the demo's. See
incentives/legacy_texts.py."""

from django.db import migrations


def convert(apps, schema_editor):
    from incentives.legacy_texts import badges_convert, demo_plan_description_convert, statement_lines_convert

    statement_lines_convert(apps, schema_editor)
    badges_convert(apps, schema_editor)
    demo_plan_description_convert(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("incentives", "0003_generated_texts_as_messages")]

    operations = [migrations.RunPython(convert, migrations.RunPython.noop, elidable=True)]

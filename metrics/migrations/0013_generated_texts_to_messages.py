"""Existing generated target names and notes, and import errors, as messages (metrics/messages.py),
so an installation's rows read in both languages after upgrading. What no template of the day
gives (a name a person wrote, a text of an older wording) is left as it is. See
metrics/legacy_texts.py for exactly what is recognised."""

from django.db import migrations


def convert(apps, schema_editor):
    from metrics.legacy_texts import imports_convert, targets_convert

    targets_convert(apps, schema_editor)
    imports_convert(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("metrics", "0012_generated_texts_as_messages")]

    operations = [migrations.RunPython(convert, migrations.RunPython.noop, elidable=True)]

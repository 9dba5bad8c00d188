"""Existing audit labels of ratings as messages, and the built-in templates' descriptions in both
languages without internal references. See reviews/legacy_texts.py."""

from django.db import migrations


def convert(apps, schema_editor):
    from reviews.legacy_texts import audit_convert, descriptions_convert

    audit_convert(apps, schema_editor)
    descriptions_convert(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("reviews", "0003_generated_texts_as_messages")]

    operations = [migrations.RunPython(convert, migrations.RunPython.noop, elidable=True)]

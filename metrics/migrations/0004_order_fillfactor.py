"""Leave room in each page of metrics_order (PostgreSQL only) so that re-crediting an order, which
touches no indexed column, is a HOT update: no index entries are written."""

from django.db import migrations


def fillfactor(apps, schema_editor, value: int) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE metrics_order SET (fillfactor = {value})")


class Migration(migrations.Migration):
    dependencies = [("metrics", "0003_rollup_indexes")]

    operations = [
        migrations.RunPython(
            lambda apps, editor: fillfactor(apps, editor, 85), lambda apps, editor: fillfactor(apps, editor, 100)
        ),
    ]

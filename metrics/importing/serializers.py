from rest_framework import serializers

from metrics.models import ImportBatch, ImportKind, ImportRowError
from teams.models import Store


class ImportBatchSerializer(serializers.ModelSerializer):
    # "Imported" only once the import's figures are up to date ("Imported; figures updating" before).
    status_display = serializers.CharField(source="status_label", read_only=True)
    can_run_again = serializers.BooleanField(read_only=True)
    progress_percent = serializers.IntegerField(read_only=True)
    is_finished = serializers.BooleanField(read_only=True)
    stores = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    error_message = serializers.CharField(source="error_text", read_only=True, help_text="In the request's language.")

    class Meta:
        model = ImportBatch
        fields = [
            "id", "kind", "store", "stores", "status", "status_display", "is_finished", "progress_percent",
            "file_name", "sha256", "size_bytes", "encoding", "sheet", "column_mapping", "skip_invalid",
            "rows_total", "rows_processed", "inserted", "updated", "unchanged", "rejected",
            "error_message", "duration_ms", "created_at", "started_at", "finished_at", "rerun_of",
            "kpis_status", "heartbeat_at", "attempt", "interrupted_at", "can_run_again",
        ]  # fmt: skip
        read_only_fields = fields


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    kind = serializers.ChoiceField(choices=ImportKind.choices, required=False, help_text="Omit to detect from headers.")
    # Not nullable: a multipart form cannot send null (an empty value means "not given").
    store = serializers.PrimaryKeyRelatedField(queryset=Store.objects.none(), required=False)
    skip_invalid = serializers.BooleanField(default=False)
    sheet = serializers.CharField(required=False, allow_blank=True, max_length=120)
    mapping = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="{field: header in the file}"
    )

    def __init__(self, *args, stores=None, **kwargs):
        super().__init__(*args, **kwargs)
        if stores is not None:
            self.fields["store"].queryset = stores


class ImportMappingSerializer(serializers.Serializer):
    mapping = serializers.DictField(child=serializers.CharField(), help_text="{field: header in the file}")
    remember = serializers.BooleanField(default=True)


class ImportRowErrorSerializer(serializers.ModelSerializer):
    reason = serializers.CharField(source="reason_text", read_only=True, help_text="In the request's language.")

    class Meta:
        model = ImportRowError
        fields = ["line", "column", "value", "reason"]

"""Staff's own behaviour counts as JSON: the list and recording one."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from metrics.models import (
    Behaviour,
    BehaviourRecord,
)
from metrics.targets.api.fields import (
    DayInputField,
    IdRelatedField,
    StrictCharField,
    StrictIntegerField,
    django_errors,
)
from metrics.targets.selectors import behaviour_list_of_member, behaviour_record_list, member_recording_get
from metrics.targets.services import (
    behaviour_record_set,
)
from teams.api.filters import IdQueryField
from teams.models import Member
from teams.selectors.scoping import (
    viewer_get,
)


class BehaviourRecordSerializer(serializers.ModelSerializer):
    behaviour_name = serializers.CharField(source="behaviour.name", read_only=True)

    class Meta:
        model = BehaviourRecord
        fields = ["id", "behaviour", "behaviour_name", "member", "date", "count", "note", "updated_at"]
        read_only_fields = fields


class BehaviourRecordWriteSerializer(serializers.Serializer):
    behaviour = IdRelatedField(queryset=Behaviour.objects.none(), help_text="A behaviour of the user's stores.")
    date = DayInputField(help_text="The local day; today or earlier.")
    count = StrictIntegerField(min_value=0, max_value=100_000)
    note = StrictCharField(required=False, allow_blank=True, max_length=200, default="")

    def __init__(self, *args, member: Member | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if member is not None:
            self.fields["behaviour"].queryset = behaviour_list_of_member(member=member)


class BehaviourRecordQuerySerializer(serializers.Serializer):
    behaviour = IdQueryField()
    start = serializers.DateField(required=False, help_text="First day, inclusive.")
    end = serializers.DateField(required=False, help_text="Last day, inclusive.")


@extend_schema_view(
    list=extend_schema(parameters=[BehaviourRecordQuerySerializer], summary="The user's own counts, newest first"),
    create=extend_schema(
        request=BehaviourRecordWriteSerializer,
        responses={201: BehaviourRecordSerializer},
        summary="Record one's own count of a behaviour for a day (again: replaces it)",
    ),
)
class BehaviourRecordViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    serializer_class = BehaviourRecordSerializer
    filter_backends = []

    def get_queryset(self):
        viewer = viewer_get(user=self.request.user)
        if self.action != "list":
            return behaviour_record_list(member_id=viewer.member_id)
        query = BehaviourRecordQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        return behaviour_record_list(
            member_id=viewer.member_id, behaviour_id=q.get("behaviour"), start=q.get("start"), end=q.get("end")
        )

    def create(self, request, *args, **kwargs):
        viewer = viewer_get(user=request.user)
        member = member_recording_get(viewer=viewer)
        if member is None:
            raise PermissionDenied(_("Counts are recorded by staff linked to a member."))
        payload = BehaviourRecordWriteSerializer(data=request.data, member=member)
        payload.is_valid(raise_exception=True)
        try:
            record = behaviour_record_set(viewer=viewer, user=request.user, member=member, **payload.validated_data)
        except DjangoValidationError as error:
            raise django_errors(error) from None
        return Response(BehaviourRecordSerializer(record).data, status=status.HTTP_201_CREATED)

"""Pay statements as JSON: the statements the user may see (scoped like the pages by
`statement_list`), one statement with its computed and manual lines, and the manual lines'
writes through their services (incentives/services/manual_lines.py). What a user may not see
answers 404, what their role may never do 403 (staff and team leads read their manual lines but
never change them). Money is a string with two decimals."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from incentives.models import ManualLine, ManualLineKind, Statement, StatementState
from incentives.selectors.statements import statement_list, viewer_manages_store_pay
from incentives.services.manual_lines import manual_line_create, manual_line_delete, manual_line_update
from metrics.targets.api.fields import django_errors as _django_errors
from perfmgmt.schema import NO_NUL_TEXT_PATTERN
from teams.api.filters import MONTH_PATTERN, IdQueryField
from teams.selectors.scoping import viewer_get

# --- serializers ------------------------------------------------------------------------------


class ManualLineSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(
        source="get_kind_display", read_only=True, help_text="In the request's language."
    )
    created_by_name = serializers.CharField(read_only=True, help_text="Full name, else login; — for a deleted user.")
    updated_by_name = serializers.SerializerMethodField(help_text="Null until the line is changed.")
    awaits_approval = serializers.SerializerMethodField(
        help_text="Added or changed after the statement's approval: the manager approves the statement again."
    )

    class Meta:
        model = ManualLine
        fields = ["id", "statement", "kind", "kind_label", "title", "amount", "reason", "created_by",
                  "created_by_name", "created_at", "updated_by", "updated_by_name", "updated_at",
                  "awaits_approval"]  # fmt: skip
        read_only_fields = fields

    def get_updated_by_name(self, line: ManualLine) -> str | None:
        return None if line.updated_at is None else line.updated_by_name

    def get_awaits_approval(self, line: ManualLine) -> bool:
        return line.changed_after_approval


class StatementLineSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="base, performance, commission, … (the definitions of the payout export)")
    kind_label = serializers.CharField(source="get_kind_display", help_text="In the request's language.")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    explanation = serializers.CharField(source="explanation_text", help_text="In the request's language.")
    kpi_key = serializers.CharField()


class StatementSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="member.display_name", read_only=True)
    store_name = serializers.CharField(source="store.name", read_only=True)
    plan_name = serializers.CharField(source="plan.name", read_only=True, default=None, allow_null=True)
    awaits_reapproval = serializers.BooleanField(
        read_only=True, help_text="Approved, but a manual line changed since: the manager approves it again."
    )
    lines = StatementLineSerializer(many=True, read_only=True, help_text="The computed lines.")
    manual_lines = ManualLineSerializer(many=True, read_only=True)

    class Meta:
        model = Statement
        fields = ["id", "member", "member_name", "store", "store_name", "month", "plan", "plan_name", "state",
                  "awaits_reapproval", "total", "proposed_total", "computed_at", "approved_at", "locked_at", "lines",
                  "manual_lines"]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "total": {"help_text": "Yuan: the computed lines plus the manual lines."},
            "proposed_total": {"help_text": "A recomputation after approval that differs (manual lines included)."},
        }


class ManualLineWriteSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ManualLineKind.choices)
    title = serializers.CharField(max_length=80, help_text="As it should read on the payslip, e.g. 最佳话术奖.")
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2,
        help_text="Yuan: awards and allowances above 0, deductions below, a correction either (never 0).",
    )  # fmt: skip
    reason = serializers.CharField(max_length=500, help_text="Why: shown to the member with the line.")


class ManualLineChangeSerializer(ManualLineWriteSerializer):
    # PATCH validates this whole (not partial): change_reason is required (perfmgmt.schema).
    validated_whole_on_patch = True
    change_reason = serializers.CharField(max_length=500, help_text="Why this change: kept in the change log.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("kind", "title", "amount", "reason"):
            self.fields[name].required = False


@extend_schema_field({"type": "string", "pattern": MONTH_PATTERN})
class MonthQueryField(serializers.RegexField):
    """An optional month, YYYY-MM (the pattern in the schema too, so that generated input agrees)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(MONTH_PATTERN, **kwargs)


class StatementQuerySerializer(serializers.Serializer):
    month = MonthQueryField(help_text="YYYY-MM")
    store = IdQueryField()
    member = IdQueryField()
    state = serializers.ChoiceField(choices=StatementState.choices, required=False)


# --- views ------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(parameters=[StatementQuerySerializer], summary="Pay statements the user may see"),
    retrieve=extend_schema(summary="One pay statement with its computed and manual lines"),
)
class StatementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Staff see their own statements, team leads those of their teams' members, managers their
    stores', HR and admins every one."""

    serializer_class = StatementSerializer
    filter_backends = []

    def get_queryset(self):
        statements = (
            statement_list(viewer=viewer_get(user=self.request.user))
            .prefetch_related("lines", "manual_lines__created_by", "manual_lines__updated_by")
            .order_by("-month", "store__name", "member__display_name", "pk")
        )
        if self.action != "list":
            return statements
        query = StatementQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        if "month" in q:
            statements = statements.filter(month=dt.date.fromisoformat(f"{q['month']}-01"))
        for name in ("store", "member"):
            if name in q:
                statements = statements.filter(**{f"{name}_id": q[name]})
        if q.get("state"):
            statements = statements.filter(state=q["state"])
        return statements


def _service_run(service, **kwargs):
    """Call a manual lines service; its refusals as the API's answers (400 with the fields, 403)."""
    try:
        return service(**kwargs)
    except DjangoValidationError as error:
        raise _django_errors(error) from None
    except DjangoPermissionDenied as error:
        raise PermissionDenied(str(error)) from None


STATEMENT_PARAMETER = OpenApiParameter("statement_pk", OpenApiTypes.INT, OpenApiParameter.PATH,
                                       description="The statement's id.")  # fmt: skip
REFUSED = OpenApiResponse(description="Staff and team leads never change manual lines")


@extend_schema(parameters=[STATEMENT_PARAMETER])
@extend_schema_view(
    list=extend_schema(summary="A statement's manual lines"),
    retrieve=extend_schema(summary="One manual line"),
    create=extend_schema(
        request=ManualLineWriteSerializer,
        responses={
            201: ManualLineSerializer,
            400: OpenApiResponse(description="Invalid, or the statement is locked"),
            403: REFUSED,
        },
        summary="Add a manual line (the store's managers, HR, admins; not on a locked statement)",
    ),
    partial_update=extend_schema(
        request=ManualLineChangeSerializer,
        responses={
            200: ManualLineSerializer,
            400: OpenApiResponse(description="Invalid, or the statement is locked"),
            403: REFUSED,
        },
        summary="Change a manual line, saying why (change_reason)",
    ),
    destroy=extend_schema(
        parameters=[
            OpenApiParameter(
                "reason",
                # As the body's text fields: not empty, no NUL, at most 500 characters.
                {"type": "string", "minLength": 1, "maxLength": 500, "pattern": NO_NUL_TEXT_PATTERN},
                OpenApiParameter.QUERY,
                required=True,
                description="Why it is removed: kept in the change log.",
            )
        ],
        responses={204: None, 400: OpenApiResponse(description="No reason, or the statement is locked"), 403: REFUSED},
        summary="Remove a manual line, saying why (?reason=)",
    ),
)
class ManualLineViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """The manual lines of one statement: whoever may see the statement reads them; its store's
    managers, HR and admins add, change and remove them until HR locks it. On an approved statement
    a change sends it back to the manager for approval before HR can lock it."""

    serializer_class = ManualLineSerializer
    filter_backends = []

    @property
    def viewer(self):
        return viewer_get(user=self.request.user)

    def statement(self) -> Statement:
        if not hasattr(self, "_statement"):
            self._statement = get_object_or_404(statement_list(viewer=self.viewer), pk=self.kwargs["statement_pk"])
        return self._statement

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator: no request to scope by
            return ManualLine.objects.none()
        return (
            self.statement()
            .manual_lines.select_related("statement", "created_by", "updated_by")
            .order_by("created_at", "pk")
        )

    def _writable_statement(self) -> Statement:
        statement = self.statement()
        if not viewer_manages_store_pay(viewer=self.viewer, store_id=statement.store_id):
            raise PermissionDenied(_("The store's managers and HR add manual lines to its statements."))
        return statement

    def _answer(self, line: ManualLine, code: int) -> Response:
        line = self.get_queryset().get(pk=line.pk)
        return Response(ManualLineSerializer(line, context=self.get_serializer_context()).data, status=code)

    def create(self, request, *args, **kwargs):
        statement = self._writable_statement()
        payload = ManualLineWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        line = _service_run(manual_line_create, viewer=self.viewer, user=request.user, statement=statement,
                            **payload.validated_data)  # fmt: skip
        return self._answer(line, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        self._writable_statement()
        line = self.get_object()
        payload = ManualLineChangeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        values = {"kind": line.kind, "title": line.title, "amount": line.amount, "reason": line.reason,
                  **payload.validated_data}  # fmt: skip
        line = _service_run(manual_line_update, viewer=self.viewer, user=request.user, line=line, **values)
        return self._answer(line, status.HTTP_200_OK)

    def destroy(self, request, *args, **kwargs):
        self._writable_statement()
        line = self.get_object()
        reason = serializers.CharField(max_length=500).run_validation(request.query_params.get("reason", ""))
        _service_run(manual_line_delete, viewer=self.viewer, user=request.user, line=line, reason=reason)
        return Response(status=status.HTTP_204_NO_CONTENT)

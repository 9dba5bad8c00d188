"""API for the organisation. Every queryset comes from the scoping selectors: what a user may
not see answers 404, exactly as if it did not exist."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from teams.api.filters import MemberFilter, PlatformAccountFilter, TeamFilter
from teams.api.serializers import (
    AccountAssignmentSerializer,
    AccountAssignRequestSerializer,
    MemberSerializer,
    PlatformAccountSerializer,
    StoreSerializer,
    TeamSerializer,
)
from teams.models import Member
from teams.selectors.organisation import account_assign_member_choices
from teams.selectors.scoping import (
    assignable_account_list,
    member_list,
    platform_account_annotate_current,
    platform_account_list,
    store_list,
    team_list,
    viewer_get,
)
from teams.services.accounts import account_assign


class ScopedViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    @property
    def viewer(self):
        return viewer_get(user=self.request.user)


class StoreViewSet(ScopedViewSet):
    serializer_class = StoreSerializer
    filterset_fields = ["platform"]
    search_fields = ["name"]
    ordering_fields = ["name", "platform"]
    ordering = ["name"]

    def get_queryset(self):
        return store_list(viewer=self.viewer)


class TeamViewSet(ScopedViewSet):
    serializer_class = TeamSerializer
    filterset_class = TeamFilter
    search_fields = ["name"]
    ordering_fields = ["name", "store__name", "kind"]
    ordering = ["store__name", "name"]

    def get_queryset(self):
        return team_list(viewer=self.viewer)


class MemberViewSet(ScopedViewSet):
    serializer_class = MemberSerializer
    filterset_class = MemberFilter
    search_fields = ["display_name", "employee_number"]
    ordering_fields = ["display_name", "employee_number", "hire_date"]
    ordering = ["display_name"]

    def get_queryset(self):
        return member_list(viewer=self.viewer).prefetch_related("memberships__team")


class PlatformAccountViewSet(ScopedViewSet):
    serializer_class = PlatformAccountSerializer
    filterset_class = PlatformAccountFilter
    search_fields = ["name"]
    ordering_fields = ["name", "store__name", "first_seen_at"]
    ordering = ["store__name", "name"]

    def get_queryset(self):
        return platform_account_annotate_current(platform_account_list(viewer=self.viewer))

    @extend_schema(
        request=AccountAssignRequestSerializer,
        responses={201: AccountAssignmentSerializer},
        summary="Give the account to a member from a date on",
    )
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None, format=None):  # format: the router's .json twin
        if not self.viewer.can_assign_accounts:
            raise PermissionDenied(_("Only managers assign platform accounts."))
        account = self.get_object()
        if not assignable_account_list(viewer=self.viewer).filter(pk=account.pk).exists():
            raise PermissionDenied(_("You do not manage this account's store."))
        payload = AccountAssignRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        members = account_assign_member_choices(viewer=self.viewer, store_ids={account.store_id})[account.store_id]
        try:
            member = members.get(pk=payload.validated_data["member"])
        except Member.DoesNotExist:
            raise ValidationError({"member": [_("No such active member in this store's teams.")]}) from None
        try:
            assignment = account_assign(
                account=account,
                member=member,
                start_date=payload.validated_data["start_date"],
                actor=request.user,
            )
        except DjangoValidationError as error:
            raise ValidationError({"start_date": error.messages}) from None
        return Response(AccountAssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)

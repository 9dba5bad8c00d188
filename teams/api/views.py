"""API for the organisation, its logins and roles. Every queryset comes from the scoping
selectors and every write goes through the same service as its page: what a user may not see
answers 404, exactly as if it did not exist, and something their role may never do 403. A store,
team or member a request names that is outside the writer's stores answers 404 as well, as its
page would."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import get_object_or_404  # a malformed id answers 404 too, as in DRF's own views
from rest_framework.response import Response

from teams.api.filters import MemberFilter, PlatformAccountFilter, RoleGrantFilter, TeamFilter, UserFilter
from teams.api.serializers import (
    AccountAssignmentSerializer,
    AccountAssignRequestSerializer,
    MemberCreateSerializer,
    MemberSerializer,
    MembershipMoveSerializer,
    MembershipSerializer,
    MemberWriteSerializer,
    PasswordLinkSerializer,
    PlatformAccountCreateSerializer,
    PlatformAccountSerializer,
    RoleGrantCreateSerializer,
    RoleGrantSerializer,
    StoreSerializer,
    StoreWriteSerializer,
    TeamCreateSerializer,
    TeamSerializer,
    TeamUpdateSerializer,
    UserInviteSerializer,
    UserSerializer,
)
from teams.models import Member, Role
from teams.selectors.organisation import account_assign_member_choices
from teams.selectors.scoping import (
    assignable_account_list,
    member_list,
    member_list_editable,
    platform_account_annotate_current,
    platform_account_list,
    role_grant_list,
    store_fields_editable,
    store_list,
    store_list_editable,
    team_list,
    team_list_editable,
    user_list,
    user_list_manageable,
    viewer_get,
)
from teams.services.accounts import account_assign
from teams.services.members import member_create, member_update, membership_move
from teams.services.organisation import platform_account_create, store_create, store_update, team_create, team_update
from teams.services.users import (
    PasswordLink,
    role_grant_create,
    role_grant_delete,
    user_active_set,
    user_invite,
    user_password_reset,
)

OUT_OF_SCOPE = OpenApiResponse(description="A store, team, member or user the request names is not among the writer's.")
REFUSED = OpenApiResponse(
    description="Refused for this login: one's own, the last active administrator, or deactivated."
)


def api_validation_error(error: DjangoValidationError) -> ValidationError:
    """A service's ValidationError as the API's 400: by field, or under non_field_errors."""
    if hasattr(error, "error_dict"):
        return ValidationError(error.message_dict)
    return ValidationError({"non_field_errors": error.messages})


class ScopedViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    # Writes are POST (create, actions) and PATCH (change): no PUT replacing a whole object.
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @property
    def viewer(self):
        return viewer_get(user=self.request.user)

    def _editor(self):
        if not self.viewer.can_edit_organisation:
            raise PermissionDenied(_("Only managers and administrators change the organisation."))
        return self.viewer

    def _payload(self, serializer_class, **kwargs):
        payload = serializer_class(data=self.request.data, **kwargs)
        payload.is_valid(raise_exception=True)
        return payload.validated_data


def _call(service, **kwargs):
    try:
        return service(**kwargs)
    except DjangoValidationError as error:
        raise api_validation_error(error) from None


@extend_schema_view(
    create=extend_schema(request=StoreWriteSerializer, responses={201: StoreSerializer},
                         summary="Create a store (administrators)"),
    partial_update=extend_schema(request=StoreWriteSerializer, responses={200: StoreSerializer},
                                 summary="Change a store's settings (its managers) or name (administrators)"),
)  # fmt: skip
class StoreViewSet(mixins.CreateModelMixin, ScopedViewSet):
    serializer_class = StoreSerializer
    filterset_fields = ["platform"]
    search_fields = ["name"]
    ordering_fields = ["name", "platform"]
    ordering = ["name"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return store_list(viewer=self.viewer)

    def create(self, request, *args, **kwargs):
        if not self.viewer.can_create_stores:
            raise PermissionDenied(_("Only administrators create stores."))
        data = self._payload(StoreWriteSerializer)
        store = _call(store_create, actor=request.user, **data)
        return Response(StoreSerializer(store).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        viewer = self._editor()
        store = get_object_or_404(store_list_editable(viewer=viewer), pk=kwargs["pk"])
        data = self._payload(StoreWriteSerializer, partial=True)
        refused = set(data) - set(store_fields_editable(viewer=viewer))
        if refused:
            raise PermissionDenied(_("Only administrators rename a store."))
        store = _call(store_update, actor=request.user, store=store, **data)
        return Response(StoreSerializer(store).data)


@extend_schema_view(
    create=extend_schema(request=TeamCreateSerializer, responses={201: TeamSerializer, 404: OUT_OF_SCOPE},
                         summary="Create a team in one of your stores"),
    partial_update=extend_schema(request=TeamUpdateSerializer, responses={200: TeamSerializer},
                                 summary="Rename a team, change its kind or its lead"),
)  # fmt: skip
class TeamViewSet(mixins.CreateModelMixin, ScopedViewSet):
    serializer_class = TeamSerializer
    filterset_class = TeamFilter
    search_fields = ["name"]
    ordering_fields = ["name", "store__name", "kind"]
    ordering = ["store__name", "name"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return team_list(viewer=self.viewer)

    def create(self, request, *args, **kwargs):
        viewer = self._editor()
        data = self._payload(TeamCreateSerializer)
        data["store"] = get_object_or_404(store_list_editable(viewer=viewer), pk=data["store"])
        team = _call(team_create, actor=request.user, **data)
        return Response(TeamSerializer(team).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        viewer = self._editor()
        team = get_object_or_404(team_list_editable(viewer=viewer), pk=kwargs["pk"])
        data = self._payload(TeamUpdateSerializer, partial=True)
        if data.get("lead") is not None:
            lead = member_list_editable(viewer=viewer).filter(pk=data["lead"]).first()
            if lead is None:
                raise ValidationError({"lead": [_("No such member among yours.")]})
            data["lead"] = lead
        team = _call(team_update, actor=request.user, team=team, **data)
        return Response(TeamSerializer(team_list(viewer=viewer).get(pk=team.pk)).data)


@extend_schema_view(
    create=extend_schema(request=MemberCreateSerializer, responses={201: MemberSerializer, 404: OUT_OF_SCOPE},
                         summary="Add a member, in one of your teams"),
    partial_update=extend_schema(request=MemberWriteSerializer, responses={200: MemberSerializer},
                                 summary="Change a member's name, number, dates or active flag"),
)  # fmt: skip
class MemberViewSet(mixins.CreateModelMixin, ScopedViewSet):
    serializer_class = MemberSerializer
    filterset_class = MemberFilter
    search_fields = ["display_name", "employee_number"]
    ordering_fields = ["display_name", "employee_number", "hire_date"]
    ordering = ["display_name"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return member_list(viewer=self.viewer).prefetch_related("memberships__team")

    def _read(self, member: Member):
        return MemberSerializer(
            member_list(viewer=self.viewer).prefetch_related("memberships__team").get(pk=member.pk)
        ).data

    def create(self, request, *args, **kwargs):
        viewer = self._editor()
        data = self._payload(MemberCreateSerializer)
        if "team" in data:
            data["team"] = get_object_or_404(team_list_editable(viewer=viewer), pk=data["team"])
        elif not viewer.is_admin:  # a manager's members are those of their teams
            raise ValidationError({"team": [_("Choose one of your teams.")]})
        member = _call(member_create, actor=request.user, **data)
        return Response(self._read(member), status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        viewer = self._editor()
        member = get_object_or_404(member_list_editable(viewer=viewer), pk=kwargs["pk"])
        data = self._payload(MemberWriteSerializer, partial=True)
        member = _call(member_update, actor=request.user, member=member, **data)
        return Response(self._read(member))

    @extend_schema(
        request=MembershipMoveSerializer,
        responses={201: MembershipSerializer, 404: OUT_OF_SCOPE},
        summary="Move the member to another team from a day on (the past keeps its team)",
    )
    @action(detail=True, methods=["post"], url_path="moves")
    def moves(self, request, pk=None, format=None):  # format: the router's .json twin
        viewer = self._editor()
        member = get_object_or_404(member_list_editable(viewer=viewer), pk=pk)
        data = self._payload(MembershipMoveSerializer)
        team = get_object_or_404(team_list_editable(viewer=viewer), pk=data["team"])
        row = _call(membership_move, actor=request.user, member=member, team=team, start_date=data["start_date"])
        return Response(MembershipSerializer(row).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    create=extend_schema(request=PlatformAccountCreateSerializer,
                         responses={201: PlatformAccountSerializer, 404: OUT_OF_SCOPE},
                         summary="Create a platform account before its first import"),
)  # fmt: skip
class PlatformAccountViewSet(mixins.CreateModelMixin, ScopedViewSet):
    serializer_class = PlatformAccountSerializer
    filterset_class = PlatformAccountFilter
    search_fields = ["name"]
    ordering_fields = ["name", "store__name", "first_seen_at"]
    ordering = ["store__name", "name"]
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self):
        return platform_account_annotate_current(platform_account_list(viewer=self.viewer))

    def create(self, request, *args, **kwargs):
        viewer = self._editor()
        data = self._payload(PlatformAccountCreateSerializer)
        store = get_object_or_404(store_list_editable(viewer=viewer), pk=data["store"])
        account = _call(platform_account_create, actor=request.user, store=store, name=data["name"])
        return Response(PlatformAccountSerializer(self.get_queryset().get(pk=account.pk)).data,
                        status=status.HTTP_201_CREATED)  # fmt: skip

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


# --- logins and roles ---------------------------------------------------------------------------


def _link_json(request, link: PasswordLink) -> dict:
    user = user_list(viewer=viewer_get(user=request.user)).get(pk=link.user.pk)
    return PasswordLinkSerializer({"user": user, "url": link.url, "expires_at": link.expires_at,
                                   "emailed_to": link.emailed_to}).data  # fmt: skip


@extend_schema_view(
    list=extend_schema(summary="Logins: all for administrators and HR, your members' for managers"),
    create=extend_schema(request=UserInviteSerializer, responses={201: PasswordLinkSerializer, 404: OUT_OF_SCOPE},
                         summary="Invite: a login (for a member) and its one-time link to set a password"),
)  # fmt: skip
class UserViewSet(mixins.CreateModelMixin, ScopedViewSet):
    serializer_class = UserSerializer
    filterset_class = UserFilter
    search_fields = ["username", "first_name", "member__display_name"]
    ordering_fields = ["username", "last_login"]
    ordering = ["username"]
    http_method_names = ["get", "post", "head", "options"]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not self.viewer.can_read_users:
            raise PermissionDenied(_("Logins are managed by managers and administrators; HR reads them."))

    def get_queryset(self):
        return user_list(viewer=self.viewer)

    def _manager(self):
        if not self.viewer.can_manage_users:
            raise PermissionDenied(_("Only managers and administrators invite people and manage their logins."))
        return self.viewer

    def create(self, request, *args, **kwargs):
        viewer = self._manager()
        data = self._payload(UserInviteSerializer)
        if data.get("member") is not None:
            editable = member_list_editable(viewer=viewer).filter(active=True, user__isnull=True)
            data["member"] = get_object_or_404(editable, pk=data["member"])
        elif not viewer.is_admin:
            raise ValidationError({"member": [_("Choose one of your members without a login.")]})
        link = _call(user_invite, actor=request.user, base_url=request.build_absolute_uri("/"), **data)
        return Response(_link_json(request, link), status=status.HTTP_201_CREATED)

    def _manageable(self, pk):
        return get_object_or_404(user_list_manageable(viewer=self._manager()), pk=pk)

    @extend_schema(request=None, responses={200: PasswordLinkSerializer, 400: REFUSED},
                   summary="A new one-time link to set the password; the current password stops working")  # fmt: skip
    @action(detail=True, methods=["post"], url_path="password-link")
    def password_link(self, request, pk=None, format=None):
        user = self._manageable(pk)
        link = _call(user_password_reset, actor=request.user, user=user, base_url=request.build_absolute_uri("/"))
        return Response(_link_json(request, link))

    @extend_schema(request=None, responses={200: UserSerializer, 400: REFUSED},
                   summary="Deactivate: no sign-in, token or link")  # fmt: skip
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None, format=None):
        user = _call(user_active_set, actor=request.user, user=self._manageable(pk), active=False)
        return Response(UserSerializer(self.get_queryset().get(pk=user.pk)).data)

    @extend_schema(
        request=None, responses={200: UserSerializer, 400: REFUSED}, summary="Reactivate a deactivated login"
    )
    @action(detail=True, methods=["post"])
    def reactivate(self, request, pk=None, format=None):
        user = _call(user_active_set, actor=request.user, user=self._manageable(pk), active=True)
        return Response(UserSerializer(self.get_queryset().get(pk=user.pk)).data)


@extend_schema_view(
    list=extend_schema(summary="Role grants: all for administrators and HR, your stores' for managers"),
    create=extend_schema(request=RoleGrantCreateSerializer, responses={201: RoleGrantSerializer, 404: OUT_OF_SCOPE},
                         summary="Grant a role (administrators)"),
    destroy=extend_schema(summary="Revoke a role (administrators)"),
)  # fmt: skip
class RoleGrantViewSet(mixins.CreateModelMixin, mixins.DestroyModelMixin, ScopedViewSet):
    serializer_class = RoleGrantSerializer
    filterset_class = RoleGrantFilter
    ordering_fields = ["role"]
    ordering = ["user__username", "role"]
    http_method_names = ["get", "post", "delete", "head", "options"]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not self.viewer.can_read_users:
            raise PermissionDenied(_("Logins are managed by managers and administrators; HR reads them."))

    def get_queryset(self):
        return role_grant_list(viewer=self.viewer)

    def _granter(self):
        if not self.viewer.can_grant_roles:
            raise PermissionDenied(_("Only administrators grant and revoke roles."))
        return self.viewer

    def create(self, request, *args, **kwargs):
        viewer = self._granter()
        data = self._payload(RoleGrantCreateSerializer)
        user = get_object_or_404(user_list(viewer=viewer), pk=data["user"])
        store = None
        if data.get("store") is not None and data["role"] == Role.MANAGER:
            store = get_object_or_404(store_list(viewer=viewer), pk=data["store"])
        grant = _call(role_grant_create, actor=request.user, user=user, role=data["role"], store=store)
        return Response(RoleGrantSerializer(grant).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        self._granter()
        grant = self.get_object()
        _call(role_grant_delete, actor=request.user, grant=grant)
        return Response(status=status.HTTP_204_NO_CONTENT)

from django.urls import path

from teams import access_views, views

app_name = "teams"

urlpatterns = [
    path("start/", views.getting_started_view, name="getting_started"),
    path("stores/", views.store_list_view, name="store_list"),
    path("stores/new/", views.store_create_view, name="store_create"),
    path("stores/<int:pk>/edit/", views.store_edit_view, name="store_edit"),
    path("teams/", views.team_list_view, name="team_list"),
    path("teams/new/", views.team_create_view, name="team_create"),
    path("teams/<int:pk>/edit/", views.team_edit_view, name="team_edit"),
    path("members/", views.member_list_view, name="member_list"),
    path("members/new/", views.member_create_view, name="member_create"),
    path("members/<int:pk>/", views.member_detail_view, name="member_detail"),
    path("members/<int:pk>/edit/", views.member_edit_view, name="member_edit"),
    path("members/<int:pk>/move/", views.member_move_view, name="member_move"),
    path("accounts/", views.account_list_view, name="account_list"),
    path("accounts/new/", views.account_create_view, name="account_create"),
    path("accounts/<int:pk>/assign/", views.account_assign_view, name="account_assign"),
    path("users/", access_views.user_list_view, name="user_list"),
    path("users/invite/", access_views.user_invite_view, name="user_invite"),
    path("users/<int:pk>/", access_views.user_detail_view, name="user_detail"),
    path("users/<int:pk>/password-link/", access_views.user_password_link_view, name="user_password_link"),
    path("users/<int:pk>/active/", access_views.user_active_view, name="user_active"),
    path("users/<int:pk>/grants/", access_views.role_grant_create_view, name="role_grant_create"),
    path("grants/<int:pk>/revoke/", access_views.role_grant_delete_view, name="role_grant_delete"),
    path("changes/", views.change_list_view, name="change_list"),
]

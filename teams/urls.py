from django.urls import path

from teams import views

app_name = "teams"

urlpatterns = [
    path("stores/", views.store_list_view, name="store_list"),
    path("teams/", views.team_list_view, name="team_list"),
    path("members/", views.member_list_view, name="member_list"),
    path("members/<int:pk>/", views.member_detail_view, name="member_detail"),
    path("accounts/", views.account_list_view, name="account_list"),
    path("accounts/<int:pk>/assign/", views.account_assign_view, name="account_assign"),
    path("changes/", views.change_list_view, name="change_list"),
]

from django.urls import path

from incentives import badge_views, export_views, plan_views, views

app_name = "incentives"

urlpatterns = [
    path("", views.statements_view, name="statements"),
    path("mine/", views.mine_view, name="mine"),
    path("plans/", plan_views.plans_view, name="plans"),
    path("plans/new/", plan_views.plan_create_view, name="plan_create"),
    path("plans/<int:pk>/", plan_views.plan_detail_view, name="plan_detail"),
    path("plans/<int:pk>/edit/", plan_views.plan_edit_view, name="plan_edit"),
    path("plans/<int:pk>/copy/", plan_views.plan_copy_view, name="plan_copy"),
    path("plans/<int:pk>/retire/", plan_views.plan_retire_view, name="plan_retire"),
    path("plans/<int:pk>/simulate/", plan_views.plan_simulate_view, name="plan_simulate"),
    path("plans/<int:pk>/assign/", plan_views.plan_assign_view, name="plan_assign"),
    path("plans/assignments/<int:pk>/edit/", plan_views.assignment_edit_view, name="plan_assignment_edit"),
    path("plans/assignments/<int:pk>/delete/", plan_views.assignment_delete_view, name="plan_assignment_delete"),
    path("recompute/", views.recompute_view, name="recompute"),
    path("bulk/", views.bulk_view, name="bulk"),
    path("statements/<int:pk>/", views.statement_view, name="statement"),
    path("statements/<int:pk>/approve/", views.statement_approve_view, name="approve"),
    path("statements/<int:pk>/lock/", views.statement_lock_view, name="lock"),
    path("statements/<int:pk>/manual-lines/new/", views.manual_line_add_view, name="manual_line_add"),
    path("statements/<int:pk>/manual-lines/<int:line_pk>/", views.manual_line_edit_view, name="manual_line_edit"),
    path(
        "statements/<int:pk>/manual-lines/<int:line_pk>/remove/",
        views.manual_line_remove_view,
        name="manual_line_remove",
    ),
    path("export/", export_views.export_view, name="export"),
    path("badges/", badge_views.badge_wall_view, name="badges"),
]

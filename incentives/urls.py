from django.urls import path

from incentives import badge_views, export_views, views

app_name = "incentives"

urlpatterns = [
    path("", views.statements_view, name="statements"),
    path("mine/", views.mine_view, name="mine"),
    path("plans/", views.plans_view, name="plans"),
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

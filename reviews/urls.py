from django.urls import path

from reviews import export_views, template_views, views

app_name = "reviews"

urlpatterns = [
    path("", views.overview_view, name="overview"),
    path("mine/", views.mine_view, name="mine"),
    path("export/", export_views.export_view, name="export"),
    path("cycles/new/", views.cycle_create_view, name="cycle_create"),
    path("cycles/<int:pk>/", views.cycle_view, name="cycle"),
    path("cycles/<int:pk>/advance/", views.cycle_advance_view, name="cycle_advance"),
    path("<int:pk>/", views.appraisal_view, name="appraisal"),
    path("<int:pk>/review/", views.review_view, name="review"),
    path("<int:pk>/decisions/", views.decision_view, name="decision"),
    path("<int:pk>/self/", views.self_view, name="self"),
    path("<int:pk>/peer/", views.peer_view, name="peer"),
    path("<int:pk>/print/", views.print_view, name="print"),
    path("templates/", template_views.template_list_view, name="template_list"),
    path("templates/new/", template_views.template_create_view, name="template_create"),
    path("templates/<int:pk>/", template_views.template_detail_view, name="template_detail"),
    path("templates/<int:pk>/edit/", template_views.template_edit_view, name="template_edit"),
    path("templates/<int:pk>/copy/", template_views.template_copy_view, name="template_copy"),
    path("templates/<int:pk>/retire/", template_views.template_retire_view, name="template_retire"),
]

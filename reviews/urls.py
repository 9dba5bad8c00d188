from django.urls import path

from reviews import export_views, views

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
]

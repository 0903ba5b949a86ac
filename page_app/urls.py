from django.urls import path

from page_app import views

urlpatterns = [
    path("", views.index, name="page"),
    path("sign_in", views.sign_in_view, name="sign_in"),
    path("sign_out", views.sign_out_view, name="sign_out"),
]

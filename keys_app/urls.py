from django.urls import path

from keys_app import views

urlpatterns = [
    path("create_key", views.CreateKeyView.as_view()),
    path("delete_key/<str:name>", views.DeleteKeyView.as_view()),
    path("get_key/<str:name>", views.GetKeyView.as_view()),
    path("get_keys", views.GetKeysView.as_view()),
    path("check_permissions", views.CheckPermissionsView.as_view()),
]

from django.urls import path

import ytdlphost.converters  # noqa: F401  (registers <segment:...>)
from keys_app import views

urlpatterns = [
    path("create_key", views.CreateKeyView.as_view()),
    path("delete_key/<segment:name>", views.DeleteKeyView.as_view()),
    path("get_key/<segment:name>", views.GetKeyView.as_view()),
    path("get_keys", views.GetKeysView.as_view()),
    path("check_permissions", views.CheckPermissionsView.as_view()),
]

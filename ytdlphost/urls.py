from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("keys_app.urls")),
    path("", include("downloads_app.urls")),
]

# Errors outside DRF views answer in the API's JSON shape too (ytdlphost/errors.py).
handler400 = "ytdlphost.errors.json_bad_request"
handler403 = "ytdlphost.errors.json_permission_denied"
handler404 = "ytdlphost.errors.json_not_found"
handler500 = "ytdlphost.errors.json_server_error"

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiJsonRenderer2
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

from ytdlphost import health, metrics

# The admin's app list beside every page takes a fifth of a 1280 px window from the task
# and webhook lists; its home page and breadcrumbs lead to the same places.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("admin/", admin.site.urls),
    # APPEND_SLASH is off (the API's URLs have no slash); the admin is typed by hand.
    path("admin", RedirectView.as_view(url="/admin/", permanent=True)),
    # The OpenAPI schema, as application/json first (OpenApiJsonRenderer2), and Swagger UI.
    path(
        "openapi.json",
        SpectacularJSONAPIView.as_view(
            renderer_classes=[OpenApiJsonRenderer2, OpenApiJsonRenderer]
        ),
        name="schema",
    ),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # Operations: liveness of the parts, and Prometheus metrics (METRICS_ENABLED).
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("", include("keys_app.urls")),
    path("", include("downloads_app.urls")),
    path("", include("subscriptions_app.urls")),
    # The web page for people (/, /sign_in, /sign_out); it uses the API above.
    path("", include("page_app.urls")),
]

# Errors outside DRF views answer in the API's JSON shape too (ytdlphost/errors.py).
handler400 = "ytdlphost.errors.json_bad_request"
handler403 = "ytdlphost.errors.json_permission_denied"
handler404 = "ytdlphost.errors.json_not_found"
handler500 = "ytdlphost.errors.json_server_error"

from django.urls import path

from page_app import app, views

urlpatterns = [
    path("", views.index, name="page"),
    path("sign_in", views.sign_in_view, name="sign_in"),
    path("sign_out", views.sign_out_view, name="sign_out"),
    # The installable app: at the root, so that the worker's scope is the whole page.
    path("manifest.webmanifest", app.manifest, name="manifest"),
    path("service-worker.js", app.service_worker, name="service_worker"),
]

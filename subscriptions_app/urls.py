from django.urls import path

import ytdlphost.converters  # noqa: F401  (registers <segment:...>)
from subscriptions_app import views

urlpatterns = [
    path("subscriptions", views.SubscriptionsView.as_view()),
    path("subscriptions/<segment:subscription_id>", views.SubscriptionView.as_view()),
    path("subscriptions/<segment:subscription_id>/check", views.CheckNowView.as_view()),
]

from django.urls import path

from downloads_app import views

urlpatterns = [
    path("get_video", views.GetVideoView.as_view()),
    path("get_audio", views.GetAudioView.as_view()),
    path("get_live_video", views.GetLiveVideoView.as_view()),
    path("get_live_audio", views.GetLiveAudioView.as_view()),
    path("get_info", views.GetInfoView.as_view()),
    path("status/<str:task_id>", views.StatusView.as_view()),
    path("files/<str:task_id>/<str:name>", views.FileView.as_view()),
]

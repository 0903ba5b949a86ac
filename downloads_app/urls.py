from django.urls import path

import ytdlphost.converters  # noqa: F401  (registers <segment:...>)
from downloads_app import file_views, preset_views, views

urlpatterns = [
    path("get_video", views.GetVideoView.as_view()),
    path("get_audio", views.GetAudioView.as_view()),
    path("get_live_video", views.GetLiveVideoView.as_view()),
    path("get_live_audio", views.GetLiveAudioView.as_view()),
    path("get_info", views.GetInfoView.as_view()),
    path("get_playlist", views.GetPlaylistView.as_view()),
    path("status/<segment:task_id>", views.StatusView.as_view()),
    path("tasks", views.TaskListView.as_view()),
    path("cancel/<segment:task_id>", views.CancelView.as_view()),
    path("retry/<segment:task_id>", views.RetryView.as_view()),
    path("delete_task/<segment:task_id>", views.DeleteTaskView.as_view()),
    path("files/<segment:task_id>/<segment:name>", file_views.FileView.as_view()),
    path("me", views.MeView.as_view()),
    path("presets", preset_views.PresetListView.as_view()),
]

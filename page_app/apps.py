from django.apps import AppConfig


class PageAppConfig(AppConfig):
    name = "page_app"
    verbose_name = "Web page"

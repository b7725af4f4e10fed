"""The demo host page, its token minter and the widget's files (all off unless PAYPLAN_DEMO)."""
from django.urls import path

from widget_api.demo.views import demo_page, demo_token, widget_file

urlpatterns = [
    path("", demo_page, name="demo"),
    path("token", demo_token, name="demo-token"),
    path("widget/<path:path>", widget_file, name="demo-widget-file"),
]

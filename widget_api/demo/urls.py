"""The demo host page (routes filled in by the demo module)."""
from django.urls import path

from widget_api.demo.views import demo_page

urlpatterns = [path("", demo_page, name="demo")]

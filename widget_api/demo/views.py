"""A demo page for trying the widget API without amoCRM."""
from django.http import HttpResponse


def demo_page(request):
    return HttpResponse("PayPlan demo")

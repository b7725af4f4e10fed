"""Content-Security-Policy for PayPlan's own HTML pages (Django 5.2 has no built-in CSP)."""
from django.conf import settings


class ContentSecurityPolicyMiddleware:
    """Adds settings.PAYPLAN_CONTENT_SECURITY_POLICY to every text/html response that sets none itself;
    JSON, PDFs and files need none (nothing runs in them)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.PAYPLAN_CONTENT_SECURITY_POLICY
        if policy and response.get("Content-Type", "").startswith("text/html"):
            response.headers.setdefault("Content-Security-Policy", policy)
        return response

"""Routes of the client's pages: the plan page and its actions, the registration form."""
from django.urls import path

from client_portal import views

urlpatterns = [
    path("p/<str:token>", views.plan_page, name="client-page"),
    path("p/<str:token>/pay/next", views.pay, {"what": "next"}, name="client-page-pay-next"),
    path("p/<str:token>/pay/all", views.pay, {"what": "all"}, name="client-page-pay-all"),
    path("p/<str:token>/pay/sbp", views.pay_sbp, name="client-page-pay-sbp"),
    path("p/<str:token>/invoices/<int:invoice_id>/sbp", views.invoice_sbp, name="client-page-invoice-sbp"),
    path("p/<str:token>/contact", views.contact, name="client-page-contact"),
    path("p/<str:token>/payoff", views.payoff, name="client-page-payoff"),
    path("p/<str:token>/proposals/<int:proposal_id>/approve", views.proposal_answer, {"answer": "approve"},
         name="client-page-proposal-approve"),
    path("p/<str:token>/proposals/<int:proposal_id>/decline", views.proposal_answer, {"answer": "decline"},
         name="client-page-proposal-decline"),
    path("p/<str:token>/autopay/on", views.autopay_switch, {"turn": "on"}, name="client-page-autopay-on"),
    path("p/<str:token>/autopay/off", views.autopay_switch, {"turn": "off"}, name="client-page-autopay-off"),
    path("p/<str:token>/documents/<str:kind>/<int:object_id>.pdf", views.document, name="client-page-document"),
    path("register/<str:token>", views.register, name="client-register"),
    path("register/<str:token>/wait/<str:key>", views.register_wait, name="client-register-wait"),
]

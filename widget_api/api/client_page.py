"""The client page from the manager's side: its link (copy, «Новая ссылка»), restructuring proposals the
client approves there, and early payoff (a lump sum now: shorter term or lower payments)."""
from dataclasses import replace

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from billing.client_links import client_page_url, registration_url
from billing.models import ScheduleProposal
from billing.selectors import deal_state_get, schedule_state_from_plan
from billing.selectors.schedule_changes import schedule_changes_get
from billing.services.client_page import client_link_rotate
from billing.services.proposals import early_payoff_apply, early_payoff_build, proposal_create, proposal_state
from billing.services.registrations import registration_settings
from billing.services.schedules import plan_preview, schedule_request_full
from billing.time import account_today
from widget_api.api.base import WidgetView
from widget_api.api.fields import PositiveMoneyField
from widget_api.api.outputs import ScheduleOutput
from widget_api.api.schedule import IDEMPOTENCY_HEADER, PlanInput, SchedulePreviewOutput, _parsed
from widget_api.idempotency import idempotent


class ProposalOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ScheduleProposal.Kind.values)
    state = serializers.ChoiceField(choices=["pending", "approved", "declined", "withdrawn", "expired", "superseded"])
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decided_by = serializers.CharField(allow_blank=True, help_text="who answered: the client, from their page")
    version = serializers.IntegerField(allow_null=True, help_text="the version an approval made active")


class ClientPageOutput(serializers.Serializer):
    url = serializers.CharField(help_text="the client's page /p/{token}: signed, expiring, revoked by rotate")
    registration_url = serializers.CharField(allow_null=True, help_text="the account's sign-up form, if open")
    proposal = ProposalOutput(allow_null=True, help_text="the latest restructuring proposal of the deal")


def _proposal_row(proposal: ScheduleProposal | None) -> dict | None:
    if proposal is None:
        return None
    return {"id": proposal.pk, "kind": proposal.kind, "state": proposal_state(proposal),
            "created_at": proposal.created_at, "expires_at": proposal.expires_at, "decided_at": proposal.decided_at,
            "decided_by": proposal.decided_by, "version": proposal.schedule.version if proposal.schedule else None}


def _client_page_body(deal) -> dict:
    latest = ScheduleProposal.objects.filter(deal=deal).select_related("schedule").order_by("-id").first()
    open_form = registration_settings(deal.account).enabled
    return {"url": client_page_url(deal), "registration_url": registration_url(deal.account_id) if open_form else None,
            "proposal": _proposal_row(latest)}


class ClientPageView(WidgetView):
    @extend_schema(operation_id="client_page_get", responses={200: ClientPageOutput},
                   summary="The client's page link and the latest proposal")
    def get(self, request, lead_id: int):
        return Response(ClientPageOutput(_client_page_body(self.deal(lead_id))).data)


class ClientPageRotateView(WidgetView):
    @extend_schema(operation_id="client_page_rotate", request=None, responses={200: ClientPageOutput},
                   summary="«Новая ссылка»: a new client page link; every older one stops working")
    def post(self, request, lead_id: int):
        deal = client_link_rotate(deal=self.deal(lead_id))
        return Response(ClientPageOutput(_client_page_body(deal)).data)


class ProposalCreateView(WidgetView):
    @extend_schema(operation_id="schedule_propose", request=PlanInput, responses={201: ClientPageOutput},
                   parameters=[IDEMPOTENCY_HEADER],
                   summary="«Предложить клиенту»: the client approves this plan on their page before it applies")
    def post(self, request, lead_id: int):
        return idempotent(request, account=self.account, handler=lambda: self._create(request, lead_id))

    def _create(self, request, lead_id: int) -> Response:
        serializer = _parsed(request)
        deal = self.deal(lead_id)
        proposal_create(deal=deal, plan_request=serializer.to_plan_request(), options=serializer.to_options(),
                        proposed_by=self.amo_user_id)
        return Response(ClientPageOutput(_client_page_body(deal)).data, status=201)


class EarlyPayoffInput(serializers.Serializer):
    amount = PositiveMoneyField(help_text="the lump sum paid now")
    mode = serializers.ChoiceField(choices=["shorten", "lower"], required=False, allow_blank=True,
                                   help_text="shorten the term | lower the payments; absent or blank: the account's "
                                             "rule (early_payoff_mode)")
    expected_version = serializers.IntegerField(required=False, allow_null=True,
                                                help_text="the version previewed; another active now → 409")


class EarlyPayoffPreviewView(WidgetView):
    @extend_schema(operation_id="early_payoff_preview", request=EarlyPayoffInput,
                   responses={200: SchedulePreviewOutput}, summary="The plan after an early payment; stores nothing")
    def post(self, request, lead_id: int):
        serializer = EarlyPayoffInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        deal = self.deal(lead_id)
        built = early_payoff_build(deal=deal, amount=serializer.validated_data["amount"],
                                   mode=serializer.validated_data.get("mode") or "",
                                   today=account_today(self.account))
        plan = plan_preview(plan_request=built.plan_request)
        state = schedule_state_from_plan(plan=plan, external_id=lead_id, currency=self.account.currency,
                                         direction=built.options.direction)
        state = replace(state, plan="custom",
                        request=schedule_request_full(plan_request=built.plan_request, options=built.options))
        changes = schedule_changes_get(deal=deal, plan=plan, options=built.options)
        return Response(SchedulePreviewOutput({**vars(state), "changes": changes}).data)


class EarlyPayoffView(WidgetView):
    @extend_schema(operation_id="early_payoff_apply", request=EarlyPayoffInput, responses={200: ScheduleOutput},
                   parameters=[IDEMPOTENCY_HEADER], summary="Apply an early payment plan (a new version)")
    def post(self, request, lead_id: int):
        return idempotent(request, account=self.account, handler=lambda: self._apply(request, lead_id))

    def _apply(self, request, lead_id: int) -> Response:
        serializer = EarlyPayoffInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        deal = self.deal(lead_id)
        data = serializer.validated_data
        early_payoff_apply(deal=deal, amount=data["amount"], mode=data.get("mode") or "",
                           today=account_today(self.account),
                           created_by=self.amo_user_id, expected_version=data.get("expected_version"))
        return Response(ScheduleOutput(deal_state_get(deal=deal).schedule).data)

"""The demo: a stand-in for the amoCRM lead page that runs the widget from frontend_widget/ unchanged.

Everything here answers only while settings.PAYPLAN_DEMO is on (production switches it off).
"""
from django.conf import settings
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST
from django.views.static import serve

from billing.demo import DEMO_ACCOUNT_ID, DEMO_MANAGER_ID, DEMO_SLUG
from billing.models import Account
from widget_api.tokens import token_mint

WIDGET_DIR = settings.BASE_DIR / "frontend_widget"
# The parts of frontend_widget/ that go into widget.zip; tools/ is not served.
WIDGET_PARTS = {"manifest.json", "script.js", "style.css", "i18n", "images", "templates", "vendor"}
WIDGET_CODE = "payplan"
AREAS = {"lcard", "advanced_settings", "settings"}
# The host page's own words (amoCRM's chrome around the widget); the widget's are in its i18n files.
HOST_TEXTS = {
    "ru": {"title": "Сделка — amoCRM (демо PayPlan)", "dashboard": "Рабочий стол", "leads": "Сделки",
           "tasks": "Задачи", "analytics": "Аналитика", "settings": "Настройки", "integrations": "Интеграции",
           "pipeline": "Обучение", "stage_new": "Новая заявка", "stage_paying": "Оплата по графику",
           "stage_overdue": "Есть просрочка", "stage_won": "Успешно реализовано",
           "stage_lost": "Закрыто и не реализовано",
           "budget": "Бюджет", "contact": "Контакт", "responsible": "Ответственный", "group": "Группа / поток",
           "main": "Основное", "feed": "Лента событий",
           "feed_hint": "Примечания и задачи PayPlan появляются здесь, когда интеграция подключена к amoCRM.",
           "note": "Написать примечание…", "lead": "Сделка", "demo": "Демо-стенд amoCRM",
           "demo_hint": "Виджет загружен без изменений из frontend_widget/; токены настоящие.",
           "installed": "Установлено", "configure": "Настроить", "save": "Сохранить", "saved": "Сохранено"},
    "en": {"title": "Lead — amoCRM (PayPlan demo)", "dashboard": "Dashboard", "leads": "Leads", "tasks": "Tasks",
           "analytics": "Analytics", "settings": "Settings", "integrations": "Integrations", "pipeline": "Courses",
           "stage_new": "New request", "stage_paying": "Paying by plan", "stage_overdue": "Overdue",
           "stage_won": "Closed - won", "stage_lost": "Closed - lost", "budget": "Budget", "contact": "Contact",
           "responsible": "Responsible", "group": "Group / stream", "main": "Main", "feed": "Feed",
           "feed_hint": "PayPlan's notes and tasks appear here once the integration is connected to amoCRM.",
           "note": "Write a note…", "lead": "Lead", "demo": "amoCRM demo stand",
           "demo_hint": "The widget is loaded unchanged from frontend_widget/; the tokens are real.",
           "installed": "Installed", "configure": "Configure", "save": "Save", "saved": "Saved"},
}


def _demo_account() -> Account:
    if not settings.PAYPLAN_DEMO:
        raise Http404("The demo is switched off.")
    account = Account.objects.filter(crm_kind="amocrm", crm_account_id=DEMO_ACCOUNT_ID).first()
    if account is None:
        raise Http404("No demo account: run `manage.py payplan_demo_load`.")
    return account


# The demo account's users (id, name, email, admin), the same the amoCRM sandbox's `demo` seed has
# (tests/sandboxes_amocrm/test_demo_users.py holds the two together; product code never imports sandboxes).
DEMO_USERS = (
    (8765432, "Анна Менеджер", "anna@demo.example", True),
    (8765433, "Борис Бухгалтер", "boris@demo.example", False),
    (8765434, "Вера Юрист", "vera@demo.example", False),
)


def _managers() -> dict[str, dict]:
    """AMOCRM.constant('managers'): the demo account's users."""
    return {str(user_id): {"id": user_id, "title": name, "login": email, "active": True,
                           "is_admin": "Y" if is_admin else "N"}
            for user_id, name, email, is_admin in DEMO_USERS}


def demo_page(request):
    account = _demo_account()
    deals = [{"id": deal.external_id, "name": deal.name, "contact": deal.contact_name, "status": deal.status,
              "total": str(deal.total), "group": deal.group, "responsible_user_id": deal.responsible_user_id}
             for deal in account.deals.order_by("external_id")]
    lead_ids = {deal["id"] for deal in deals}
    requested = request.GET.get("lead", "")
    lead_id = int(requested) if requested.isdigit() and int(requested) in lead_ids else (deals[0]["id"] if deals else 0)
    managers = _managers()
    boot = {
        "widget_code": WIDGET_CODE,
        "widget_path": request.build_absolute_uri("/demo/widget").rstrip("/"),
        "token_url": "/demo/token",
        "lang": "en" if request.GET.get("lang") == "en" else "ru",
        "area": request.GET.get("area") if request.GET.get("area") in AREAS else "lcard",
        "lead_id": lead_id,
        "deals": deals,
        "account": {"id": account.crm_account_id, "subdomain": account.slug, "name": account.name,
                    "currency": account.currency, "timezone": account.time_zone},
        "user": managers.get(str(DEMO_MANAGER_ID), {"id": DEMO_MANAGER_ID, "title": "", "login": ""}),
        "managers": managers,
    }
    return render(request, "demo/index.html", {"account": account, "boot": boot, "txt": HOST_TEXTS[boot["lang"]]})


@require_POST
def demo_token(request):
    """What amoCRM's $authorizedAjax does before each call: a fresh disposable token for the current user."""
    _demo_account()
    token = token_mint(account_id=DEMO_ACCOUNT_ID, subdomain=DEMO_SLUG, user_id=DEMO_MANAGER_ID,
                       is_admin=True)
    return JsonResponse({"token": token}, headers={"Cache-Control": "no-store"})


def widget_file(request, path: str):
    """The widget's own files, as amoCRM serves them from the widget's params.path."""
    _demo_account()
    if path.split("/", 1)[0] not in WIDGET_PARTS or ".." in path.split("/"):
        raise Http404("Not a widget file.")
    response = serve(request, path, document_root=WIDGET_DIR)
    response["Cache-Control"] = "no-cache"
    return response

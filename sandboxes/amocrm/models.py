"""In-memory amoCRM account data held by the sandbox: users, pipelines, fields, contacts, leads, activity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

WON_STATUS_ID = 142
LOST_STATUS_ID = 143
CLOSING_STATUS_IDS = (WON_STATUS_ID, LOST_STATUS_ID)

# Ids for the contact PHONE/EMAIL fields; real accounts differ, clients must read them from the API.
PHONE_FIELD_ID = 300001
EMAIL_FIELD_ID = 300002
PHONE_ENUM_IDS = {"WORK": 400001, "WORKDD": 400002, "MOB": 400003, "FAX": 400004, "HOME": 400005,
                  "OTHER": 400006}
EMAIL_ENUM_IDS = {"WORK": 400011, "PRIV": 400012, "OTHER": 400013}

# Where new ids start when a caller does not pick one, so every run hands out the same ids.
FIRST_NEW_IDS = {"lead": 40000001, "contact": 50000001, "note": 70000001, "task": 90000001, "webhook": 1}

TASK_TYPES = [
    {"id": 1, "name": "Связаться", "color": None, "icon_id": None, "code": "FOLLOW_UP"},
    {"id": 2, "name": "Встреча", "color": None, "icon_id": None, "code": "MEETING"},
]


def by_id(mapping: dict, key: object):
    """mapping[key] for a real integer key (JSON may send anything), else None."""
    return mapping.get(key) if isinstance(key, int) and not isinstance(key, bool) else None


@dataclass
class User:
    id: int
    name: str
    email: str
    is_admin: bool = False
    lang: str = "ru"


@dataclass
class Status:
    id: int
    name: str
    sort: int
    pipeline_id: int
    color: str = "#99ccff"
    type: int = 0


@dataclass
class Pipeline:
    id: int
    name: str
    sort: int
    is_main: bool
    statuses: list[Status]

    def status(self, status_id: int) -> Status | None:
        return next((status for status in self.statuses if status.id == status_id), None)


@dataclass
class FieldEnum:
    id: int
    value: str
    sort: int


@dataclass
class CustomField:
    id: int
    name: str
    type: str
    entity_type: str = "leads"
    code: str | None = None
    sort: int = 500
    enums: list[FieldEnum] | None = None

    def enum(self, *, enum_id: object = None, value: object = None) -> FieldEnum | None:
        for option in self.enums or []:
            if option.id == enum_id or (enum_id is None and option.value == value):
                return option
        return None


@dataclass
class Contact:
    id: int
    name: str
    first_name: str
    last_name: str
    responsible_user_id: int
    created_at: int
    phones: list[tuple[str, str]] = field(default_factory=list)
    emails: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Lead:
    id: int
    name: str
    price: int
    status_id: int
    pipeline_id: int
    responsible_user_id: int
    created_at: int
    updated_at: int
    created_by: int = 0
    updated_by: int = 0
    closed_at: int | None = None
    contact_ids: list[int] = field(default_factory=list)
    # field id -> stored `values` list, exactly as the API answers it
    custom_fields: dict[int, list[dict]] = field(default_factory=dict)


@dataclass
class Note:
    id: int
    entity_id: int
    entity_type: str
    note_type: str
    params: dict
    created_by: int
    responsible_user_id: int
    created_at: int
    updated_at: int = 0


@dataclass
class Task:
    id: int
    text: str
    complete_till: int
    entity_id: int | None
    entity_type: str | None
    task_type_id: int
    responsible_user_id: int
    duration: int
    created_by: int
    created_at: int
    is_completed: bool = False
    result_text: str = ""
    updated_by: int = 0
    updated_at: int = 0


@dataclass
class Webhook:
    id: int
    destination: str
    settings: list[str]
    sort: int
    created_by: int
    created_at: int


def contact_fields() -> dict[int, CustomField]:
    """The two multitext fields every amoCRM account has on contacts."""
    phone = CustomField(PHONE_FIELD_ID, "Телефон", "multitext", "contacts", "PHONE", 4,
                        [FieldEnum(enum_id, code, sort) for sort, (code, enum_id)
                         in enumerate(PHONE_ENUM_IDS.items(), start=1)])
    email = CustomField(EMAIL_FIELD_ID, "Email", "multitext", "contacts", "EMAIL", 6,
                        [FieldEnum(enum_id, code, sort) for sort, (code, enum_id)
                         in enumerate(EMAIL_ENUM_IDS.items(), start=1)])
    return {phone.id: phone, email.id: email}


@dataclass
class Account:
    id: int
    subdomain: str
    name: str = ""
    currency: str = "RUB"
    currency_symbol: str = "₽"
    country: str = "RU"
    timezone: str = "Europe/Moscow"
    created_at: int = 1735689600
    users: dict[int, User] = field(default_factory=dict)
    pipelines: dict[int, Pipeline] = field(default_factory=dict)
    lead_fields: dict[int, CustomField] = field(default_factory=dict)
    contact_fields: dict[int, CustomField] = field(default_factory=contact_fields)
    contacts: dict[int, Contact] = field(default_factory=dict)
    leads: dict[int, Lead] = field(default_factory=dict)
    notes: dict[int, Note] = field(default_factory=dict)
    tasks: dict[int, Task] = field(default_factory=dict)
    webhooks: dict[int, Webhook] = field(default_factory=dict)

    def next_id(self, kind: str) -> int:
        taken = {"lead": self.leads, "contact": self.contacts, "note": self.notes, "task": self.tasks,
                 "webhook": self.webhooks}[kind]
        return max(max(taken, default=0) + 1, FIRST_NEW_IDS[kind])

    @property
    def main_pipeline(self) -> Pipeline:
        return next((p for p in self.pipelines.values() if p.is_main), next(iter(self.pipelines.values())))

    @property
    def first_admin_id(self) -> int:
        return next((user.id for user in self.users.values() if user.is_admin), next(iter(self.users)))

    def add_user(self, user_id: int, name: str, *, email: str = "", is_admin: bool = False) -> User:
        user = User(user_id, name, email or f"user{user_id}@{self.subdomain}.example", is_admin)
        self.users[user_id] = user
        return user

    def add_pipeline(self, pipeline_id: int, name: str, statuses: list[tuple[int, str]], *,
                     is_main: bool = False) -> Pipeline:
        """Add a pipeline; won (142) and lost (143) are appended as they are in every amoCRM pipeline."""
        closing = [(WON_STATUS_ID, "Успешно реализовано"), (LOST_STATUS_ID, "Закрыто и не реализовано")]
        rows = [Status(status_id, status_name, sort * 10, pipeline_id, type=int(sort == 1))
                for sort, (status_id, status_name) in enumerate(statuses, start=1)]
        rows += [Status(status_id, status_name, 10000 + index, pipeline_id, "#ccc8f9" if index else "#ccff66")
                 for index, (status_id, status_name) in enumerate(closing)]
        pipeline = Pipeline(pipeline_id, name, len(self.pipelines) + 1, is_main, rows)
        self.pipelines[pipeline_id] = pipeline
        return pipeline

    def add_lead_field(self, field_id: int, name: str, field_type: str, *, code: str | None = None,
                       enums: list[tuple[int, str]] | None = None) -> CustomField:
        options = None if enums is None else [FieldEnum(enum_id, value, sort * 10)
                                              for sort, (enum_id, value) in enumerate(enums, start=1)]
        custom_field = CustomField(field_id, name, field_type, "leads", code, len(self.lead_fields) * 10,
                                   options)
        self.lead_fields[field_id] = custom_field
        return custom_field

    def add_contact(self, name: str, *, contact_id: int | None = None, phones: Sequence[tuple[str, str]] = (),
                    emails: Sequence[tuple[str, str]] = (), responsible_user_id: int | None = None) -> Contact:
        first_name, _, last_name = name.partition(" ")
        contact = Contact(contact_id or self.next_id("contact"), name, first_name, last_name,
                          responsible_user_id or self.first_admin_id, self.created_at,
                          list(phones), list(emails))
        self.contacts[contact.id] = contact
        return contact

    def add_lead(self, name: str, *, lead_id: int | None = None, price: int = 0,
                 pipeline_id: int | None = None, status_id: int | None = None,
                 responsible_user_id: int | None = None, contact_ids: Sequence[int] = (),
                 custom_fields: dict[int, list[dict]] | None = None, created_at: int | None = None) -> Lead:
        """Add a lead; custom field values are stored as given (shape of the API's `values`)."""
        pipeline = self.pipelines[pipeline_id] if pipeline_id else self.main_pipeline
        created = created_at or self.created_at
        user_id = responsible_user_id or self.first_admin_id
        lead = Lead(lead_id or self.next_id("lead"), name, price, status_id or pipeline.statuses[0].id,
                    pipeline.id, user_id, created, created, user_id, user_id,
                    contact_ids=list(contact_ids), custom_fields=dict(custom_fields or {}))
        if lead.status_id in CLOSING_STATUS_IDS:
            lead.closed_at = created
        self.leads[lead.id] = lead
        return lead

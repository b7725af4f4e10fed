"""What every CRM adapter reads of an account's settings: the Completed stage, the mapped fields, the task user.

Billing owns them (billing.domain.account_settings); this is the CRM side's read-only view.
"""
from dataclasses import dataclass

from billing.domain.account_settings import crm_mapping_read
from billing.models import Account


@dataclass(frozen=True)
class CrmSettings:
    completed_status_id: int
    completed_pipeline_id: int | None  # None: the lead's own pipeline (142/143 exist in every one)
    field_ids: dict[str, int]  # only the mapped keys
    task_user_id: int | None  # None: the lead's responsible user


def crm_settings(account: Account) -> CrmSettings:
    mapping = crm_mapping_read(account.settings)
    return CrmSettings(completed_status_id=account.completed_status_id,
                       completed_pipeline_id=account.completed_pipeline_id,
                       field_ids=mapping.field_ids, task_user_id=mapping.task_user_id)

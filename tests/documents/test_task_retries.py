"""Task retries are Celery's autoretry with the same schedule the hand-written ones had."""
import smtplib

from celery.utils.time import get_exponential_backoff_interval

from crm.amocrm.errors import CrmNotSent, CrmTransient
from crm.amocrm.tasks import crm_install_finish_task, crm_revoke_confirm_task
from documents.tasks import deliver_document


def _countdowns(task, retries):
    return [get_exponential_backoff_interval(factor=task.retry_backoff, retries=n, maximum=task.retry_backoff_max,
                                             full_jitter=task.retry_jitter) for n in range(retries)]


def test_each_task_retries_its_transient_errors_with_doubling_capped_backoff():
    assert set(deliver_document.autoretry_for) == {smtplib.SMTPException, OSError}
    assert set(crm_install_finish_task.autoretry_for) == {CrmTransient}
    assert set(crm_revoke_confirm_task.autoretry_for) == {CrmTransient, CrmNotSent}
    assert _countdowns(deliver_document, 8) == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert _countdowns(crm_install_finish_task, 5) == [60, 120, 240, 480, 960]
    assert _countdowns(crm_revoke_confirm_task, 8) == [30, 60, 120, 240, 480, 960, 1920, 3600]
    assert (deliver_document.max_retries, crm_install_finish_task.max_retries,
            crm_revoke_confirm_task.max_retries) == (8, 5, 8)

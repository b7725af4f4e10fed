#!/bin/sh
# Issue [G] layout: rewrite imports and paths in the files given (e.g. a branch made before the move).
#   scripts/relayout_g.sh $(git diff --name-only main...HEAD)
# Deal.lead_id -> external_id, Account.amocrm_account_id -> crm_account_id, .subdomain -> .slug and
# CrmAction.lead_id -> external_id are model renames: fix those by hand (the HTTP API still says lead_id).
set -eu
perl -pi -e '
  s/billing\.gateway\.sandbox/sandboxes.cloudpayments/g; s{billing/gateway/sandbox}{sandboxes/cloudpayments}g;
  s/widget_api\.amocrm\.sandbox/sandboxes.amocrm/g; s{widget_api/amocrm/sandbox}{sandboxes/amocrm}g;
  s/documents\.smtp_sink/sandboxes.smtp/g; s/documents\.sandbox\b/documents.safe_render/g;
  s/widget_api\.amocrm\.(outbox|drain|coordination)\b/crm.$1/g;
  s/from widget_api\.amocrm import (outbox|drain|coordination)\b/from crm import $1/g;
  s/widget_api\.amocrm\b/crm.amocrm/g; s{widget_api/amocrm}{crm/amocrm}g;
  s/from widget_api\.models import CrmAction\b/from crm.models import CrmAction/g;
  s/from widget_api\.models import (CrmConnection|InstallStateUse)/from crm.amocrm.models import $1/g;
  s/from widget_api\.account_settings import crm_settings/from crm.settings import crm_settings/g;
  s/from widget_api\.tasks import crm_outbox_drain/from crm.tasks import crm_outbox_drain/g;
  s/widget_api\.tasks\b/crm.amocrm.tasks/g;
' "$@"

#!/bin/sh
# Issue [G] layout move: rewrite the moved imports/paths and the safe field renames in the files given,
# e.g. on a branch made before the move (idempotent: running it twice changes nothing more):
#   git diff --name-only --diff-filter=AMR fdb4246...HEAD | xargs scripts/relayout_g.sh
# (fdb4246: main just before the move; run from the repository root, paths relative to it, because the
# rename rules differ inside billing/). Or on one file: scripts/relayout_g.sh path/to/file.py
# Checked: run over every .py of billing/ tests/ widget_api/ documents/ at fdb4246, a second run changes nothing.
# Files under */migrations/0*.py are left alone (history). Files that are themselves moved (git mv) must be
# moved by hand first: widget_api/amocrm/X -> crm/amocrm/X (outbox.py, drain.py, coordination.py -> crm/),
# billing/gateway/sandbox/ -> sandboxes/cloudpayments/, widget_api/amocrm/sandbox/ -> sandboxes/amocrm/,
# documents/smtp_sink.py -> sandboxes/smtp/server.py, documents/sandbox.py -> documents/safe_render.py;
# after the move (gw): crm/amocrm/events.py -> crm/feed.py, crm/amocrm/dunning_events.py -> crm/dunning_feed.py,
# crm/amocrm/texts.py -> crm/texts.py, crm/amocrm/i18n/ru.json -> crm/i18n/ru.json.
#
# What the rules do NOT do (by hand; see the list at the end of this file):
#   - billing/ must not say amoCRM/amocrm/lead_id/subdomain even in comments, docstrings or .po texts
#     (tests/test_billing_is_crm_neutral.py): reword those.
#   - CRM action payloads built in billing/ use the key "external_id" (the rule below rewrites "lead_id" keys
#     inside billing/ too); crm/amocrm reads payload["external_id"].
#   - The widget HTTP API keeps `lead_id` in JSON (request and answer): in widget_api/ and tests only ORM
#     arguments and attributes of Deal/Account/CrmAction change, never JSON keys or URL parameters.
#   - New migrations: field renames are in billing 0019_gm_neutral_crm_names / crm 0002_gm_action_external_id;
#     a branch's own new migration must depend on the latest of those, and its fields use the new names.
set -eu
for f in "$@"; do
  case "$f" in
    */migrations/0*.py|*.html|*.j2|*documents/templates_default/*|*.mo|*.png|*.pdf|*.woff*|*.ttf) continue ;;
  esac
  [ -f "$f" ] || continue
  # 1. moved modules and paths (everywhere)
  perl -pi -e '
    s/billing\.gateway\.sandbox\b/sandboxes.cloudpayments/g; s{billing/gateway/sandbox\b}{sandboxes/cloudpayments}g;
    s/from billing\.gateway import sandbox\b/from sandboxes import cloudpayments/g;
    s/widget_api\.amocrm\.sandbox\b/sandboxes.amocrm/g; s{widget_api/amocrm/sandbox\b}{sandboxes/amocrm}g;
    s/documents\.smtp_sink\b/sandboxes.smtp.server/g; s{documents/smtp_sink\.py}{sandboxes/smtp/server.py}g;
    s/documents\.sandbox\b/documents.safe_render/g; s{documents/sandbox\.py}{documents/safe_render.py}g;
    s/from documents import sandbox\b/from documents import safe_render/g;
    s/widget_api\.amocrm\.(outbox|drain|coordination)\b/crm.$1/g;
    s{widget_api/amocrm/(outbox|drain|coordination)\.py}{crm/$1.py}g;
    s/from widget_api\.amocrm import (outbox|drain|coordination)\b/from crm import $1/g;
    s/widget_api\.amocrm\b/crm.amocrm/g; s{widget_api/amocrm\b}{crm/amocrm}g;
    # [G] finish (gw): the event feed and its texts are CRM-neutral, in crm/ (moved with git mv).
    s/crm\.amocrm\.events\b/crm.feed/g; s{crm/amocrm/events\.py}{crm/feed.py}g;
    s/crm\.amocrm\.dunning_events\b/crm.dunning_feed/g; s{crm/amocrm/dunning_events\.py}{crm/dunning_feed.py}g;
    s/crm\.amocrm\.texts\b/crm.texts/g; s{crm/amocrm/texts\.py}{crm/texts.py}g; s{crm/amocrm/i18n/}{crm/i18n/}g;
    s/from crm\.amocrm import texts\b/from crm import texts/g;
    if (/^(\s*)from widget_api\.models import ([\w, ]+)$/) {  # widget_api.models is gone: split the names
      my ($in, @n) = ($1, split /\s*,\s*/, $2);
      my @crm = grep { $_ eq "CrmAction" } @n; my @amo = grep { $_ ne "CrmAction" } @n;
      $_ = (@crm ? "${in}from crm.models import CrmAction\n" : "") .
           (@amo ? "${in}from crm.amocrm.models import " . join(", ", @amo) . "\n" : "");
    }
    s/\bwidget_api\.models\.CrmAction\b/crm.models.CrmAction/g; s/\bwidget_api\.models\b/crm.amocrm.models/g;
    s/"widget_api\.CrmAction"/"crm.CrmAction"/g; s/"widget_api\.(CrmConnection|InstallStateUse)"/"amocrm.$1"/g;
    s/from widget_api\.account_settings import (CrmSettings, )?crm_settings\b/from crm.settings import $1crm_settings/g;
    s/from widget_api\.tasks import crm_outbox_drain\b/from crm.tasks import crm_outbox_drain/g;
    s/widget_api\.tasks\.crm_outbox_drain\b/crm.tasks.crm_outbox_drain/g;
    s/widget_api\.tasks\b/crm.amocrm.tasks/g;
  ' "$f"
  # 2. field renames
  case "$f" in
    billing/*)
      # billing/ says no lead_id / subdomain / amocrm_account_id at all
      perl -pi -e '
        s/lead_id/external_id/g;
        s/\bamocrm_account_id\b/crm_account_id/g; s/subdomain/slug/g;
      ' "$f" ;;
    sandboxes/*|*/sandbox/*|*.js|*.json|*.md|*.po) ;;  # the fakes' own accounts and every JSON stay as they are
    *.py)
      # elsewhere only what is unmistakably the model field (JSON "lead_id" keys stay)
      perl -pi -e '
        s/(?<!["\x27])\b(\w*deal_?|\w*\.deal|\w*action|deals\[\w+\])\.lead_id\b/$1.external_id/g;
        s/\bregistration\.crm_lead_id\b/registration.crm_external_id/g;
        s/\.amocrm_account_id\b/.crm_account_id/g; s/\bamocrm_account_id=/crm_account_id=/g;
        s/\b(account|self\.account|deal\.account|obj\.account|other_account|acc)\.subdomain\b/$1.slug/g;
        s/\bsubdomain=(?=[^=])/slug=/g if /Account\b|account_create|account_make|make_account|_account\(/;
        s/\b(Deal\.objects\.[a-z_]+\([^)]*?)\blead_id(=|__)/$1external_id$2/g;
        s/\b(deals?\.(?:filter|get|exclude|create|get_or_create|update_or_create)\([^)]*?)\blead_id(=|__)/$1external_id$2/g;
        s/\bdeal__lead_id\b/deal__external_id/g;
        s/\bDeal\(([^)]*?)\blead_id=/Deal($1external_id=/g;
        s/(\.objects\.(?:get|filter|exclude|create|get_or_create|update_or_create)\([^)]*?)\blead_id(=|__)/$1external_id$2/g;
        s/\b(deal_get_or_create\([^)]*?)\blead_id=/$1external_id=/g;
        s/\bvalues_list\("lead_id"/values_list("external_id"/g;
        s/\border_by\("lead_id"\)/order_by("external_id")/g;
      ' "$f" ;;
  esac
done
# By hand (the rules cannot tell a model field from a JSON key or a local name):
#   - Deal(...)/Deal.objects.create(...) spread over several lines: lead_id= -> external_id= (and crm_kind= if not amoCRM)
#   - Account.objects.create(subdomain=...) over several lines: subdomain= -> slug=
#   - test helpers/fixtures that take lead_id= and pass it to Deal: rename inside the helper
#   - Deal objects in variables whose name does not end in "deal" (first.lead_id, row.lead_id): -> .external_id
#   - {{ account.subdomain }} / {{ deal.lead_id }} in Django .html templates -> account.slug / deal.external_id
#     (NOT in account document templates: their Jinja variable deal.lead_id stays, documents/contexts.py fills it)
#   - `from widget_api.models import (` over several lines: CrmAction -> crm.models, the rest -> crm.amocrm.models
#   - a billing/ service that imports a tasks module: queue the job by name through billing/jobs.py (lint-imports)
#   - a new migration of a branch: depend on billing 0019_gm_neutral_crm_names / crm 0002_gm_action_external_id
#     and use the new field names; widget_api has no models any more (its 0008 hands them to crm and amocrm)
#   - CrmAction payload["lead_id"] -> payload["external_id"] in new crm/amocrm code
#   - words "amoCRM"/"amocrm" in billing/ comments, docstrings and billing/locale .po msgids: reword CRM-neutral

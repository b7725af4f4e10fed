"""The analytics rollup's SQL (PostgreSQL only) [I].

An account's money by day is kept in two tables so that analytics does not scan every open line:
- `billing_analyticsdealday`: what each deal contributes, per day and slice, as of its last fold;
- `billing_analyticsdaytotal`: their sum per account, day and slice.
Statement-level triggers on deals, plans, lines and payments mark a deal stale
(`billing_analyticsstaledeal`) in the transaction that changes it: one cheap insert, no shared row
updated, so concurrent payments never wait on each other for the rollup. The fold
(billing.services.analytics_rollup) recounts stale deals and applies the difference. A reader recounts the
stale deals of its account live in the same statement: exact whether the fold has run or not.

One definition of a deal's contribution, `DEAL_DAYS`, serves the fold, the rebuild and the readers; it is
the analytics selectors' filters (active plan, cancelled deals left out, opening balances left out)."""

SLICE_COLUMNS = ("account_id", "direction", "deal_group", "education_direction", "manager_id", "day")
FIGURE_COLUMNS = ("due_amount", "due_count", "open_amount", "open_count", "received_amount", "received_count",
                  "on_time_amount", "on_time_count", "received_interest")

# The deals are `{deals}`: an expression giving a bigint[] (a parameter or a sub-select). A payment's interest
# (`interest_paid`): allocations are positive and cover a line's interest first, in payment order, so an
# allocation's interest is what is left of the line's interest after the earlier allocations, at most its amount.
DEAL_DAYS = """
WITH interest_paid AS (
    SELECT part.payment_id, SUM(part.interest) AS interest FROM (
        SELECT a.payment_id,
               GREATEST(LEAST(a.amount, i.interest - (SUM(a.amount) OVER (
                   PARTITION BY a.installment_id ORDER BY paying.paid_at, paying.id) - a.amount)), 0) AS interest
          FROM billing_schedule s
          JOIN billing_installment i ON i.schedule_id = s.id AND i.interest > 0
          JOIN billing_allocation a ON a.installment_id = i.id
          JOIN billing_payment paying ON paying.id = a.payment_id
         WHERE s.deal_id = ANY({deals}) AND s.is_active) part
     GROUP BY part.payment_id
)
SELECT d.id AS deal_id, d.account_id, s.direction, d."group" AS deal_group, d.education_direction,
       COALESCE(s.manager_id, d.responsible_user_id) AS manager_id, i.due_date AS day,
       SUM(i.amount) AS due_amount, COUNT(*) AS due_count,
       COALESCE(SUM(i.amount - i.paid) FILTER (WHERE i.paid < i.amount), 0) AS open_amount,
       COUNT(*) FILTER (WHERE i.paid < i.amount) AS open_count,
       0::numeric AS received_amount, 0::bigint AS received_count,
       COALESCE(SUM(on_time.amount), 0) AS on_time_amount,
       COUNT(*) FILTER (WHERE COALESCE(on_time.amount, 0) >= i.amount) AS on_time_count,
       0::numeric AS received_interest
  FROM billing_deal d
  JOIN billing_schedule s ON s.deal_id = d.id AND s.is_active
  JOIN billing_installment i ON i.schedule_id = s.id
  LEFT JOIN LATERAL (SELECT SUM(a.amount) AS amount FROM billing_allocation a
                       JOIN billing_payment paying ON paying.id = a.payment_id
                      WHERE a.installment_id = i.id AND paying.paid_at <= i.due_date) on_time ON true
 WHERE d.id = ANY({deals}) AND d.cancelled_at IS NULL
 GROUP BY d.id, d.account_id, s.direction, d."group", d.education_direction,
          COALESCE(s.manager_id, d.responsible_user_id), i.due_date
UNION ALL
SELECT d.id, p.account_id, d.direction, d."group", d.education_direction, plan.manager_id, p.paid_at,
       0, 0, 0, 0, SUM(p.amount), COUNT(*), 0, 0, COALESCE(SUM(interest_paid.interest), 0)
  FROM billing_deal d
  JOIN billing_payment p ON p.deal_id = d.id
  LEFT JOIN interest_paid ON interest_paid.payment_id = p.id
  LEFT JOIN LATERAL (SELECT COALESCE(s.manager_id, d.responsible_user_id) AS manager_id FROM billing_schedule s
                      WHERE s.deal_id = d.id AND s.is_active) plan ON true
 WHERE d.id = ANY({deals}) AND d.cancelled_at IS NULL AND p.method <> 'opening_balance'
 GROUP BY d.id, p.account_id, d.direction, d."group", d.education_direction, plan.manager_id, p.paid_at
"""

_SLICE = ", ".join(SLICE_COLUMNS)
_FIGURES = ", ".join(FIGURE_COLUMNS)
_NEGATED = ", ".join(f"-{name}" for name in FIGURE_COLUMNS)
_SUMS = ", ".join(f"SUM({name}) AS {name}" for name in FIGURE_COLUMNS)
_ANY_FIGURE = " OR ".join(f"{name} <> 0" for name in FIGURE_COLUMNS)
_ADD = ", ".join(f"{name} = billing_analyticsdaytotal.{name} + EXCLUDED.{name}" for name in FIGURE_COLUMNS)

# Fold deals %(deals)s: replace their rows by a fresh count and add the difference to the account totals.
FOLD = f"""
WITH old AS (DELETE FROM billing_analyticsdealday WHERE deal_id = ANY(%(deals)s) RETURNING {_SLICE}, {_FIGURES}),
new AS (INSERT INTO billing_analyticsdealday (deal_id, {_SLICE}, {_FIGURES})
        SELECT deal_id, {_SLICE}, {_FIGURES} FROM ({DEAL_DAYS.format(deals="%(deals)s")}) fresh
        RETURNING {_SLICE}, {_FIGURES}),
change AS (SELECT {_SLICE}, {_SUMS}
             FROM (SELECT {_SLICE}, {_FIGURES} FROM new UNION ALL SELECT {_SLICE}, {_NEGATED} FROM old) both_sides
            GROUP BY {_SLICE})
INSERT INTO billing_analyticsdaytotal ({_SLICE}, {_FIGURES})
SELECT {_SLICE}, {_FIGURES} FROM change WHERE {_ANY_FIGURE}
ON CONFLICT ({_SLICE}) DO UPDATE SET {_ADD}
"""  # noqa: S608 (fixed names only)

# An account's figures as kept (`parts`, one row per slice and day of each source): the totals, minus what its
# stale deals had added, plus what they add now. The stale deals are read once, as an array, so both recounts go
# by index (a handful of deals, not the account's lines).
_KEPT_PARTS = f"""
WITH stale AS MATERIALIZED (
    SELECT ARRAY(SELECT DISTINCT deal_id FROM billing_analyticsstaledeal WHERE account_id = %(account)s) AS deals
),
parts AS (
    SELECT {_SLICE}, {_FIGURES} FROM billing_analyticsdaytotal WHERE account_id = %(account)s
    UNION ALL
    SELECT {_SLICE}, {_NEGATED} FROM billing_analyticsdealday
     WHERE deal_id = ANY((SELECT deals FROM stale)::bigint[]) AND account_id = %(account)s
    UNION ALL
    SELECT {_SLICE}, {_FIGURES} FROM ({DEAL_DAYS.format(deals="(SELECT deals FROM stale)::bigint[]")}) fresh
     WHERE account_id = %(account)s
)
"""  # noqa: S608 (fixed names only)

# The account's figures by day (or manager: {group}) for one slice filter ({where}: conditions on the slice
# columns), stale deals recounted live.
DAYS = _KEPT_PARTS + f"""
SELECT {{group}}, {_SUMS} FROM parts WHERE {{where}} GROUP BY {{group}} ORDER BY {{group}}
"""  # noqa: S608 (fixed names only)

# The check: an account's figures by slice and day as kept (as DAYS reads them) against a recount of every
# deal; the slices where they differ (GROUP BY: a null manager is one slice).
_ZEROS = ", ".join("0" for _name in FIGURE_COLUMNS)
_KEPT_AND_COUNTED = ", ".join(f"SUM(kept_{name}) AS kept_{name}, SUM(counted_{name}) AS counted_{name}"
                              for name in FIGURE_COLUMNS)
_DIFFERENT = " OR ".join(f"SUM(kept_{name}) <> SUM(counted_{name})" for name in FIGURE_COLUMNS)
_KEPT_NAMES = ", ".join(f"kept_{name}" for name in FIGURE_COLUMNS)
_COUNTED_NAMES = ", ".join(f"counted_{name}" for name in FIGURE_COLUMNS)
CHECK = _KEPT_PARTS + f"""
SELECT {_SLICE}, {_KEPT_AND_COUNTED} FROM (
    SELECT {_SLICE}, {_FIGURES}, {_ZEROS} FROM parts
    UNION ALL
    SELECT {_SLICE}, {_ZEROS}, {_FIGURES}
      FROM ({DEAL_DAYS.format(deals="ARRAY(SELECT id FROM billing_deal WHERE account_id = %(account)s)")}) every_deal
     WHERE account_id = %(account)s
) both_counts ({_SLICE}, {_KEPT_NAMES}, {_COUNTED_NAMES})
GROUP BY {_SLICE} HAVING {_DIFFERENT} ORDER BY day
"""  # noqa: S608 (fixed names only)

# Rows the fold rewrites often: room on each page for HOT updates, and vacuumed early.
TABLE_SETTINGS = """
ALTER TABLE billing_analyticsdaytotal SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.02);
ALTER TABLE billing_analyticsdealday SET (autovacuum_vacuum_scale_factor = 0.02);
ALTER TABLE billing_analyticsstaledeal SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000);
"""

# --- the triggers --------------------------------------------------------------------------------------------
# A deal is marked when a statement changes what DEAL_DAYS reads of it. Updates compare old and new rows and
# mark only when a counted column changed (a deal's debt or an invoice's status does not count).
_MARK = "INSERT INTO billing_analyticsstaledeal (deal_id, account_id) SELECT DISTINCT deal_id, account_id FROM"

_CHANGED_ROWS = """
    (SELECT o.* FROM rollup_old o JOIN rollup_new n ON n.id = o.id WHERE ({columns}) IS DISTINCT FROM ({new_columns})
     UNION ALL
     SELECT n.* FROM rollup_new n JOIN rollup_old o ON o.id = n.id WHERE ({columns}) IS DISTINCT FROM ({new_columns}))
"""


def _changed_rows(columns: tuple[str, ...]) -> str:
    return _CHANGED_ROWS.format(columns=", ".join(f"o.{name}" for name in columns),
                                new_columns=", ".join(f"n.{name}" for name in columns))


# (table, counted columns, how rows of it name their deals: SQL over a relation called `changed`)
_MARKED_TABLES = (
    ("billing_deal", ("cancelled_at", '"group"', "education_direction", "responsible_user_id", "direction",
                      "account_id"),
     "(SELECT changed.id AS deal_id, changed.account_id FROM {rows} changed) marked"),
    ("billing_schedule", ("is_active", "manager_id", "direction", "deal_id"),
     "(SELECT d.id AS deal_id, d.account_id FROM {rows} changed JOIN billing_deal d ON d.id = changed.deal_id) marked"),
    ("billing_installment", ("schedule_id", "due_date", "amount", "paid", "interest"),
     "(SELECT d.id AS deal_id, d.account_id FROM {rows} changed JOIN billing_schedule s ON s.id = changed.schedule_id "
     "JOIN billing_deal d ON d.id = s.deal_id) marked"),
    ("billing_allocation", ("installment_id", "payment_id", "amount"),
     "(SELECT d.id AS deal_id, d.account_id FROM {rows} changed JOIN billing_installment i ON i.id = "
     "changed.installment_id JOIN billing_schedule s ON s.id = i.schedule_id JOIN billing_deal d ON d.id = s.deal_id) "
     "marked"),
    ("billing_payment", ("deal_id", "account_id", "amount", "method", "paid_at"),
     "(SELECT changed.deal_id, changed.account_id FROM {rows} changed UNION "
     "SELECT d.id, d.account_id FROM {rows} changed JOIN billing_deal d ON d.id = changed.deal_id) marked"),
)


def _trigger_function(table: str, columns: tuple[str, ...], deals_of: str) -> str:
    name = f"{table}_rollup_mark"
    inserted = deals_of.format(rows="rollup_new")
    deleted = deals_of.format(rows="rollup_old")
    updated = deals_of.format(rows=_changed_rows(columns))
    # A new deal has nothing to count yet: its plan, lines and payments mark it when they come.
    on_insert = "NULL;" if table == "billing_deal" else f"{_MARK} {inserted};"
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $rollup$
BEGIN
    IF TG_OP = 'INSERT' THEN {on_insert}
    ELSIF TG_OP = 'DELETE' THEN {_MARK} {deleted};
    ELSE {_MARK} {updated};
    END IF;
    RETURN NULL;
END
$rollup$;
CREATE TRIGGER {table}_rollup_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS rollup_new
    FOR EACH STATEMENT EXECUTE FUNCTION {name}();
CREATE TRIGGER {table}_rollup_update AFTER UPDATE ON {table} REFERENCING OLD TABLE AS rollup_old
    NEW TABLE AS rollup_new FOR EACH STATEMENT EXECUTE FUNCTION {name}();
CREATE TRIGGER {table}_rollup_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS rollup_old
    FOR EACH STATEMENT EXECUTE FUNCTION {name}();
"""


def _drop_trigger_function(table: str) -> str:
    return "".join(f"DROP TRIGGER IF EXISTS {table}_rollup_{event} ON {table};"
                   for event in ("insert", "update", "delete")) + f"DROP FUNCTION IF EXISTS {table}_rollup_mark();"


CREATE_TRIGGERS = "".join(_trigger_function(*spec) for spec in _MARKED_TABLES)
DROP_TRIGGERS = "".join(_drop_trigger_function(table) for table, _columns, _deals in _MARKED_TABLES)
# Every deal stale: the next folds count them all (after the migration, or a rebuild).
MARK_ALL = "INSERT INTO billing_analyticsstaledeal (deal_id, account_id) SELECT id, account_id FROM billing_deal"

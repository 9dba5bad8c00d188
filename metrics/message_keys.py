"""The sentences metrics stores (generated target names and notes), as message templates.

Keys are stored in the database: never rename one that rows may hold (add a new key instead);
change a template's wording freely. How to add one: metrics/messages.py, docs/architecture.md."""

from django.utils.translation import gettext_lazy as _

from metrics.messages import messages_register
from metrics.models import PhaseKind
from teams.models import TeamKind

messages_register(
    templates={
        # --- generated target names (metrics/targets/services.py, the demo) ---------------------
        "metrics.target_paid_orders_needed": _("Paid orders needed"),
        "metrics.target_paying_buyers_needed": _("Paying buyers needed"),
        "metrics.target_inquiring_buyers_needed": _("Inquiring buyers needed"),
        "metrics.target_visitors_needed": _("Visitors needed"),
        "metrics.target_new_leads": _("New leads to reach"),
        # A member's share for a period: "李娜 12-07–12-13 · GMV" (period: "12-07–12-13" or "2026-12";
        # measure: a KPI's label or a behaviour's name).
        "metrics.target_member_period": "%(member)s %(period)s · %(measure)s",
        # A promotion's focus target: "店庆大促 · Peak · Inquiry-to-payment rate".
        "metrics.target_focus": "%(campaign)s · %(phase)s · %(kpi)s",
        # The root of a decomposition saved without a name of its own.
        "metrics.target_revenue": _("%(scope)s revenue %(start)s – %(end)s"),
        "metrics.target_returning_new": _("Returning customers %(returning)s, new customers %(new)s."),
        # --- why an import was refused or failed (metrics/importing, metrics/importing/services.py) -
        "metrics.import_too_big": _(
            "The file is %(size)s MB; the limit is %(limit)s MB. Split the export by date range."
        ),
        # Sizes through messages.megabytes (one decimal), the file's and the limit's alike.
        "metrics.import_file_over_limit": _(
            "The file is %(size)s MB, over the %(limit)s MB limit. Split the export by date range."
        ),
        "metrics.import_empty": _("The file is empty."),
        "metrics.import_not_table": _(
            "This is not a table: save the export as CSV (UTF-8 or GBK) or as an .xlsx workbook."
        ),
        "metrics.import_not_text": _("This is not a text table: save the export as CSV (UTF-8 or GBK) or as .xlsx."),
        "metrics.import_encoding": _(
            "The file is neither UTF-8 nor GB18030/GBK text. Save it from Excel as “CSV UTF-8” and upload it again."
        ),
        "metrics.import_no_header": _("The file has no header row."),
        "metrics.import_one_column": _(
            "Only one column was found. The file is not a table, or its separator is not comma, tab or semicolon."
        ),
        "metrics.import_column_no_header": _("Column %(position)s has no header."),
        "metrics.import_headers_twice": _("These headers appear twice: %(headers)s."),
        "metrics.import_encoding_changes": _("The file's encoding changes part-way through: %(error)s"),
        "metrics.import_unreadable": _("The file cannot be read as a table: %(error)s"),
        "metrics.import_zip_not_xlsx": _("This zip file is not an Excel workbook (.xlsx)."),
        "metrics.import_xlsx_damaged": _("The workbook is damaged: it cannot be opened as .xlsx."),
        "metrics.import_xlsx_bomb": _(
            "The workbook unpacks to %(size)s MB, more than a real export does; it was not opened."
        ),
        "metrics.import_xlsx_unpacked_over_limit": _(
            "The workbook unpacks to %(size)s MB, over the %(limit)s MB limit; it was not opened."
        ),
        "metrics.import_xlsx_cells": _(
            "The sheet has more than %(limit)s cells (rows × columns), more than an import reads. "
            "Split the export by date range, or delete the columns it does not need."
        ),
        "metrics.import_xlsx_row_too_wide": _(
            "A row of the sheet has more than %(limit)s cells, more than Excel allows; the workbook was not read."
        ),
        "metrics.import_xlsx_head_too_big": _(
            "The sheet's first rows take more than %(limit)s MB, more than a real export's; the workbook was not read."
        ),
        "metrics.import_xlsx_unreadable": _(
            "The workbook cannot be read (%(error)s). Open it in Excel and save it again as .xlsx."
        ),
        "metrics.import_no_sheet": _("The workbook has no sheet “%(sheet)s”; it has: %(sheets)s."),
        "metrics.import_sheet_empty": _("The sheet “%(sheet)s” is empty."),
        "metrics.import_sheet_rows": _("The sheet has %(rows)s rows; the limit is %(limit)s."),
        "metrics.import_sheet_too_many": _("The sheet has more than %(limit)s rows."),
        "metrics.import_kind_unknown": _(
            "These columns are not an order report, a chat log, a traffic report, a lead list, "
            "a call record or a roster: %(headers)s. Choose the kind and map the columns."
        ),
        "metrics.import_no_column": _("The file has no column named %(headers)s."),
        "metrics.import_columns_missing": _("Required columns are missing: %(columns)s."),
        "metrics.import_no_store_column": _(
            "The file does not name its stores (店铺名称): choose the store it belongs to."
        ),
        "metrics.import_not_queued": _(
            "The import could not be queued: the background job service is unreachable. Nothing was "
            "imported. Upload the file again in a few minutes; if this persists, tell your administrator."
        ),
        "metrics.import_connection_lost": _(
            "The connection to the database was lost during the import, so nothing was imported. Import the file again."
        ),
        "metrics.import_unexpected": _(
            "The import stopped on an unexpected error; nothing was written. The error was logged."
        ),
        "metrics.import_rows_invalid": _(
            "%(count)s rows are invalid, so nothing was imported. "
            "Correct them, or import again with “skip invalid rows”."
        ),
        # --- why a row was rejected (metrics/importing/normalize.py) -----------------------------
        "metrics.import_row_split": _("Cannot split the line into cells: %(detail)s"),
        "metrics.import_row_other_store": _("This row belongs to another store than the one chosen for the import."),
        "metrics.import_row_no_store": _("The store name is empty."),
        "metrics.import_row_unknown_store": _("Unknown store, or not one you may import into."),
        "metrics.import_row_required": _("A value is required."),
        "metrics.import_row_too_long": _("Longer than %(n)s characters."),
        "metrics.import_row_stage": _(
            "Unknown stage. Use 线索/lead, 意向/intent, 谈判/negotiation, 成单/won or 丢单/lost."
        ),
        "metrics.import_row_direction": _("Unknown call direction. Use 呼出/outbound or 呼入/inbound."),
        "metrics.import_row_yes_no": _("Not a yes or no (是/否, Y/N, yes/no, 1/0)."),
        "metrics.import_row_duration": _("Not a duration (seconds like 83, or 1:23, or 0:01:23)."),
        "metrics.import_row_money": _("Not an amount of money (like 1234.50 or ¥1,234.00)."),
        "metrics.import_row_integer": _("Not a whole number of 0 or more."),
        "metrics.import_row_date": _("Not a date (like 2026-08-01 or 2026/8/1)."),
        "metrics.import_row_datetime": _("Not a date and time (like 2026-08-01 10:00:00 or 2026/8/1 10:00)."),
        "metrics.import_row_clock_change": _(
            "This local time does not exist or is ambiguous in the store's time zone (a clock change)."
        ),
        "metrics.import_row_paid_before_created": _("Paid before the order was created."),
        "metrics.import_row_response_before_start": _("First response before the chat started."),
        "metrics.import_row_ended_before_start": _("Chat ended before it started."),
        "metrics.import_row_stage_before_created": _("The stage changed before the lead was created."),
        "metrics.import_row_team_kind": _(
            "Unknown team kind. Use 售前/pre-sales, 售后/after-sales, 网销/online sales, 电销/telesales "
            "or 运营/operations."
        ),
        # --- why a roster row was rejected (teams.services.roster.RosterProblem) ----------------
        "metrics.roster_employee_twice": _("This employee number is already on line %(line)s."),
        "metrics.roster_leave_before_hire": _("The leave date is before the hire date."),
        "metrics.roster_account_name_too_long": _("The account name %(account)s is longer than %(n)s characters."),
        "metrics.roster_account_twice": _(
            "The account %(account)s is also listed on line %(line)s: an account belongs to one member at a time."
        ),
        "metrics.roster_account_held": _(
            "%(member)s holds the account %(account)s on some of these days (from %(start)s): an account "
            "belongs to one member at a time. Leave it off their row, or give a move date after their last day."
        ),
        "metrics.roster_account_drop_too_early": _(
            "The member has held %(account)s since %(start)s, so it cannot end before that: give a later move date."
        ),
        "metrics.roster_move_too_early": _(
            "The member is in %(team)s from %(start)s: a change of team takes effect after that. "
            "Give a later move date (调动日期)."
        ),
        "metrics.roster_move_after_leave": _(
            "The change would take effect on %(date)s, after the leave date: give a move date on or before it."
        ),
        "metrics.roster_leave_before_period": _(
            "The leave date is before %(start)s, when the member's current %(name)s began."
        ),
        "metrics.roster_member_other_store": _(
            "This employee number belongs to a member of a store you do not manage."
        ),
        "metrics.roster_login_invalid": _(
            "Not a valid login name: letters, digits and @ . + - _ only, at most 150 characters."
        ),
        "metrics.roster_login_twice": _("This login name is already on line %(line)s."),
        "metrics.roster_login_taken": _("The login name %(login)s is already someone else's."),
        "metrics.roster_login_differs": _("The member already logs in as %(login)s."),
        "metrics.roster_email_invalid": _("Not a valid e-mail address."),
        "metrics.roster_login_protected": _(
            "%(login)s holds roles of its own: only an administrator can change its e-mail address."
        ),
        "metrics.roster_team_kind_conflict": _("Line %(line)s gives this team the kind %(kind)s."),
        "metrics.roster_two_leaders": _("Line %(line)s already names the lead of this team."),
    },
    choices={"phase": PhaseKind, "team_kind": TeamKind},
)

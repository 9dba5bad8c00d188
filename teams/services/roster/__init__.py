"""The roster (花名册): a company's people as HR lists them, one row per member, applied to the
organisation in one set-based change.

A row names a member by employee number (工号) and says, as of the roster: their name, store and
team, hire and leave dates, the platform accounts they use, whether they lead their team, and
optionally a login. `roster_apply` makes the organisation say the same, keeping the dated
histories that KPIs are credited by:

- **New member** (an employee number not known yet): created with a membership of the team and
  the listed accounts from the hire date (ending on the leave date, if any). With 按首次活动起算
  (from first activity) = 是, an account nobody ever held starts on its first day of activity
  when that is earlier than the hire date, and so does the member's first membership.
- **Known member**: what differs is changed *from the move date* (调动日期 in the row, else the
  day of the import): a new team, an account added or no longer listed. The days before stay
  with the team and holder they had, so a later roster never rewrites the past.
- **Leave date** (离职日期): the member's current team and accounts end on it; an empty cell,
  when the roster has the column, clears it (the periods that ended on it are open again).
- Columns the file does not have change nothing (no 子账号 column: accounts are left as they are).
- **Idempotent**: a row that says what the organisation already says changes nothing.

Each row is checked as a whole (dates, moves against the member's history, an account held by
someone else on those days, two leads for one team, logins); a row with any problem is
rejected with `RosterError`s, and — unless the caller imports the valid rows only — nothing is
written. Everything written is recorded in the change log and runs inside `history_watch`, so
exactly the store-days whose holder or team changed are recomputed once it commits.

teams imports no app above it: the import pipeline (metrics) reads the file, checks its cells,
and calls this with typed rows; it turns `RosterProblem`s into messages in both languages.

Modules: `rows` (a row, its problems, the outcome), `planning` (what the organisation says now,
each row's plan, the problems between rows; no writes), `writing` (`roster_apply`).
"""

from teams.services.roster.rows import (
    RosterError,
    RosterOutcome,
    RosterProblem,
    RosterRow,
    roster_accounts_split,
)
from teams.services.roster.writing import roster_apply, roster_invitations_send

__all__ = [
    "RosterError",
    "RosterOutcome",
    "RosterProblem",
    "RosterRow",
    "roster_accounts_split",
    "roster_apply",
    "roster_invitations_send",
]

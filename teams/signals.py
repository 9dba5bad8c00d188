"""Signals of the organisation, for the apps above it: teams imports none of them, they listen."""

from django.dispatch import Signal

# Sent once per change of the dated histories (who held an account on which days, which team a
# member was in, a departure), inside the change's transaction, with `spans`: a tuple of
# teams.services.history.StoreDays, the days of each store whose figures the change can move.
# Receivers act on commit: metrics queues the recompute of those days (metrics/signals.py).
history_changed = Signal()

# Sent to ask whether an app above holds data of a store read in the store's time zone (facts
# whose local day was fixed when they were imported), with `store`. A receiver returns True when
# it does: the store's time zone can then no longer change (teams.services.organisation).
store_data_exists = Signal()

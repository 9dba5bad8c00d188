"""Check and normalise a chunk of an export, column by column, with pandas (no loop over rows).

Every cell that cannot be read is reported with its line, column, value and reason; a row with
any such cell is rejected as a whole. What comes out is ready for the staging table:
money as integer cents (parsed from the text, never through a float), datetimes as UTC epoch
seconds (read as local times of
the row's store), counts as integers, order statuses and lead stages normalised with the
exported text kept, call durations as seconds, phone numbers masked.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from metrics.importing.readers import Chunk
from metrics.importing.schema import FIELDS, Field, FieldType
from metrics.importing.vocabularies import CALL_DIRECTIONS, LEAD_STAGES, ORDER_STATUSES, TEAM_KINDS, YES_NO
from metrics.messages import MessageData, message
from metrics.models import ImportKind, OrderStatus

# Columns of the staging table, in order, per kind (after `line` and `store_id`).
STAGING_COLUMNS: dict[str, tuple[str, ...]] = {
    ImportKind.ORDERS: (
        "order_id", "buyer", "payable_cents", "paid_cents", "status", "status_raw",
        "created_at", "created_date", "paid_at", "item_count", "refund_cents", "title",
    ),
    ImportKind.CHATS: (
        "session_id", "account", "buyer", "started_at", "started_date", "started_hour",
        "first_response_at", "ended_at", "buyer_messages", "agent_messages",
    ),
    ImportKind.TRAFFIC: ("date", "channel", "uv", "pv", "cart_adds"),
    ImportKind.LEADS: (
        "lead_id", "account", "customer", "source", "stage", "stage_raw", "stage_changed_at",
        "stage_changed_date", "created_at", "created_date", "amount_cents", "guide_price_cents",
        "collected_cents", "product", "new_product", "expected_close", "lost_reason",
    ),
    ImportKind.CALLS: (
        "call_id", "account", "started_at", "started_date", "started_hour", "number", "direction",
        "connected", "duration_seconds",
    ),
    ImportKind.ROSTER: (
        "employee_number", "name", "team", "team_kind", "accounts", "hire_date", "leave_date", "leader",
        "login", "email", "move_date", "from_first_activity",
    ),
}  # fmt: skip

# Local calendar parts kept beside these times: a day is a day in the store's zone, and KPIs
# group by it in plain SQL on any database.
LOCAL_PARTS = {
    "created_at": ("created_date", None),
    "started_at": ("started_date", "started_hour"),
    "stage_changed_at": ("stage_changed_date", None),
}

# Choice-like field types: the folded texts each accepts, and the reason (a message key) an
# unknown text gets.
_CHOICES = {
    FieldType.STAGE: (LEAD_STAGES, "metrics.import_row_stage"),
    FieldType.DIRECTION: (CALL_DIRECTIONS, "metrics.import_row_direction"),
    FieldType.BOOL: (YES_NO, "metrics.import_row_yes_no"),
    FieldType.TEAM_KIND: (TEAM_KINDS, "metrics.import_row_team_kind"),
}

_STATUS_KEYS = {unicodedata.normalize("NFKC", k).strip().lower(): v for k, v in ORDER_STATUSES.items()}
_ID_FIELDS = ("order_id", "session_id", "lead_id", "call_id", "employee_number")
_CALL_ID_MAX = 160  # Call.call_id's max_length: longer derived keys are replaced by a digest
_MONEY = r"\d{1,12}(?:\.\d{1,2})?"  # at most 12 digits of yuan: fits int64 cents with room
_INT_MAX = 2**31 - 1


@dataclass
class StoreResolver:
    """Maps store names in a file to store ids, and says which stores a row may belong to.

    `fixed_store_id`: the store chosen for the import (rows naming another store are rejected).
    `known`: name → id of existing stores the importer may write to. Unknown names get negative
    temporary ids when `create_unknown` (the stores are created at merge time, so a refused
    import leaves no empty store behind); otherwise their rows are rejected.
    """

    fixed_store_id: int | None
    fixed_store_name: str | None
    known: dict[str, int]
    time_zones: dict[int, str]
    create_unknown: bool
    default_time_zone: str
    new: dict[str, int] = field(default_factory=dict)

    def time_zone(self, store_id: int) -> str:
        return self.time_zones.get(store_id, self.default_time_zone)


@dataclass
class CheckedChunk:
    rows: pd.DataFrame  # line, store_id, then STAGING_COLUMNS[kind]
    errors: pd.DataFrame  # line, column, value, reason (a message as JSON text: metrics/messages.py)
    rejected: int  # rows rejected in this chunk


@dataclass
class _Errors:
    frames: list[pd.DataFrame] = field(default_factory=list)

    def add(
        self,
        mask: pd.Series | np.ndarray,
        lines: np.ndarray,
        column: str,
        values: pd.Series | None,
        reason: MessageData,
    ):
        """Rows of `mask` rejected for `reason`, a message (kept as JSON text in the frame: pandas
        would read a dict as a mapping), so each reader sees it in their language."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        shown = values[mask].astype(str).str.slice(0, 200).to_numpy() if values is not None else ""
        text = json.dumps(reason, ensure_ascii=False)
        self.frames.append(pd.DataFrame({"line": lines[mask], "column": column, "value": shown, "reason": text}))

    def frame(self) -> pd.DataFrame:
        if not self.frames:
            return pd.DataFrame({"line": pd.Series(dtype="int64"), "column": "", "value": "", "reason": ""}).iloc[:0]
        return pd.concat(self.frames, ignore_index=True)


def chunk_check(*, chunk: Chunk, kind: str, mapping: dict[str, str], stores: StoreResolver) -> CheckedChunk:
    frame, lines = chunk.frame, chunk.lines
    n = len(frame)
    errors = _Errors()
    for line, reason in chunk.bad_lines:
        errors.frames.append(
            pd.DataFrame(
                {
                    "line": [line],
                    "column": [""],
                    "value": [""],
                    "reason": [json.dumps(message("metrics.import_row_split", detail=reason), ensure_ascii=False)],
                }
            )
        )
    out: dict[str, object] = {"line": lines}
    bad = np.zeros(n, dtype=bool)

    # The store of each row first: time zones depend on it.
    store_ids, store_bad = _resolve_stores(frame, lines, mapping, stores, errors)
    bad |= store_bad
    out["store_id"] = store_ids
    zones = pd.Series(store_ids).map({int(sid): stores.time_zone(int(sid)) for sid in np.unique(store_ids)})

    for spec in FIELDS[kind]:
        if spec.name == "store":
            continue
        header = mapping.get(spec.name)
        raw = frame[header].astype(str) if header else None
        column = header or str(spec.label)
        local: dict[str, pd.Series] = {}
        values, invalid = _convert(spec, raw, n, lines, column, zones, errors, local)
        if spec.name in LOCAL_PARTS:
            date_column, hour_column = LOCAL_PARTS[spec.name]
            # An optional time the file does not have: no local parts either.
            parsed = local.get("parsed", pd.Series([pd.NaT] * n, dtype="datetime64[ns]"))
            out[date_column] = parsed.dt.strftime("%Y-%m-%d").where(parsed.notna(), None).astype(object)
            if hour_column:
                out[hour_column] = parsed.dt.hour.astype("Int64").astype(object).where(parsed.notna(), None)
        bad |= invalid
        if spec.type == FieldType.STATUS:
            out["status"], out["status_raw"] = values
        elif spec.type == FieldType.STAGE:
            out["stage"], out["stage_raw"] = values
        elif spec.type == FieldType.MONEY:
            out[cents_column(spec.name)] = values
        elif spec.type == FieldType.DURATION:
            out[f"{spec.name}_seconds"] = values
        else:
            out[spec.name] = values

    bad |= _check_order_of_times(kind, out, frame, lines, mapping, errors)
    if kind == ImportKind.CALLS:
        _calls_complete(out, n)
    rows = pd.DataFrame(out)
    rows = rows.loc[~bad, ["line", "store_id", *STAGING_COLUMNS[kind]]]
    return CheckedChunk(
        rows=rows.reset_index(drop=True),
        errors=errors.frame(),
        rejected=int(bad.sum()) + len(chunk.bad_lines),
    )


def cents_column(name: str) -> str:
    """The integer-cents column of a money field: paid_amount → paid_cents, amount → amount_cents."""
    return name.replace("_amount", "_cents") if name.endswith("_amount") else f"{name}_cents"


def _calls_complete(out: dict, n: int) -> None:
    """What a call record implies beyond its cells (rows already rejected are dropped later).

    - connected, when the file has no such column or the cell is empty: talk time above 0;
    - talk time of a call that was not connected is 0 (some systems report the ringing time);
    - call id, when the file has none: account, start (UTC epoch seconds), masked number and
      direction, so importing the same records again finds the same rows.
    """
    seconds = pd.Series(out["duration_seconds"], dtype=object)
    connected = pd.Series(out["connected"], dtype=object)
    derived = (pd.to_numeric(seconds, errors="coerce").fillna(0) > 0).astype(int).astype(object)
    connected = connected.where(connected.notna(), derived)
    out["connected"] = connected.to_numpy()
    out["duration_seconds"] = seconds.where(connected != 0, 0).to_numpy()

    call_id = pd.Series(out["call_id"], dtype=object)
    missing = (call_id.isna() | (call_id.astype(str) == "")).to_numpy()
    if missing.any():
        parts = [pd.Series(out[c], dtype=object)[missing].astype(str) for c in ("account", "started_at", "number")]
        direction = pd.Series(out["direction"], dtype=object)[missing].astype(str)
        keys = parts[0] + "|" + parts[1] + "|" + parts[2] + "|" + direction
        long = keys.str.len() > _CALL_ID_MAX
        if long.any():  # account names near their 120-character limit only
            keys[long] = keys[long].map(lambda k: "sha1:" + hashlib.sha1(k.encode()).hexdigest())  # noqa: S324
        call_id[missing] = keys.to_numpy()
    out["call_id"] = call_id.to_numpy()


def _resolve_stores(frame, lines, mapping, stores: StoreResolver, errors: _Errors) -> tuple[np.ndarray, np.ndarray]:
    n = len(frame)
    header = mapping.get("store")
    if not header:
        return np.full(n, stores.fixed_store_id, dtype="int64"), np.zeros(n, dtype=bool)
    names = frame[header].astype(str).str.strip()
    ids = pd.Series(np.zeros(n, dtype="int64"))
    bad = np.zeros(n, dtype=bool)
    empty = (names == "").to_numpy()
    if stores.fixed_store_id is not None:
        # A chosen store takes rows with no store name; a row naming another store is an error.
        other = (~empty) & (names != stores.fixed_store_name).to_numpy()
        errors.add(
            other,
            lines,
            header,
            names,
            message("metrics.import_row_other_store"),
        )
        ids[:] = stores.fixed_store_id
        return ids.to_numpy(), other
    errors.add(empty, lines, header, names, message("metrics.import_row_no_store"))
    bad |= empty
    for name in names[~empty].unique():
        if name in stores.known:
            store_id = stores.known[name]
        elif name in stores.new:
            store_id = stores.new[name]
        elif stores.create_unknown:
            store_id = -(len(stores.new) + 1)
            stores.new[name] = store_id
        else:
            mask = (names == name).to_numpy()
            errors.add(mask, lines, header, names, message("metrics.import_row_unknown_store"))
            bad |= mask
            continue
        ids[(names == name).to_numpy()] = store_id
    return ids.to_numpy(), bad


def _convert(
    spec: Field,
    raw: pd.Series | None,
    n: int,
    lines,
    column: str,
    zones: pd.Series,
    errors: _Errors,
    local: dict | None = None,
):
    """(values, invalid mask) for one field; an absent optional column gives its default.

    For a datetime, `local["parsed"]` receives the naive local times as read."""
    if raw is None:
        value = spec.default if spec.default is not None else None
        if spec.type == FieldType.STATUS:
            return (pd.Series([None] * n, dtype=object), pd.Series([None] * n, dtype=object)), np.zeros(n, dtype=bool)
        return pd.Series([value] * n, dtype=object), np.zeros(n, dtype=bool)

    text = raw.str.strip()
    empty = (text == "").to_numpy()
    invalid = np.zeros(n, dtype=bool)
    if not spec.nullable:
        errors.add(empty, lines, column, None, message("metrics.import_row_required"))
        invalid |= empty

    if spec.type == FieldType.TEXT:
        # Spreadsheet tricks that keep long ids as text: ="3100…", '3100…, a leading tab.
        if spec.name in _ID_FIELDS:
            text = text.str.replace(r'^="?(.*?)"?$', r"\1", regex=True).str.lstrip("'\t")
        if spec.name == "number":
            text = _phone_mask(text)
        too_long = (text.str.len() > spec.max_length).to_numpy() if spec.max_length else np.zeros(n, dtype=bool)
        errors.add(too_long, lines, column, text, message("metrics.import_row_too_long", n=spec.max_length))
        invalid |= too_long
        values = text.where(~empty, spec.default if spec.default is not None else None)
        return values.astype(object), invalid

    if spec.type == FieldType.STATUS:
        # Few distinct texts: fold each once, then map the column.
        normalised = {
            t: _STATUS_KEYS.get(unicodedata.normalize("NFKC", t).lower(), OrderStatus.OTHER) for t in text.unique()
        }
        status = text.map(normalised)
        too_long = (text.str.len() > spec.max_length).to_numpy()
        errors.add(too_long, lines, column, text, message("metrics.import_row_too_long", n=spec.max_length))
        return (status.astype(object), text.astype(object)), invalid | too_long

    if spec.type in _CHOICES:
        accepted, reason = _CHOICES[spec.type]
        keys = {_fold_choice(k): v for k, v in accepted.items()}
        # Few distinct texts: fold each once, then map the column.
        values = text.map({t: keys.get(_fold_choice(t)) for t in text.unique()}).astype(object)
        unknown = (values.isna() & ~pd.Series(empty)).to_numpy()
        errors.add(unknown, lines, column, raw, message(reason))
        invalid |= unknown
        if spec.type == FieldType.BOOL and spec.default is not None:
            values = values.where(~pd.Series(empty), int(spec.default))
        if spec.type == FieldType.STAGE:
            too_long = (text.str.len() > spec.max_length).to_numpy()
            errors.add(too_long, lines, column, text, message("metrics.import_row_too_long", n=spec.max_length))
            return (values, text.astype(object)), invalid | too_long
        return values, invalid

    if spec.type == FieldType.DURATION:
        values, unreadable = _duration_seconds(text, empty)
        errors.add(unreadable, lines, column, raw, message("metrics.import_row_duration"))
        if spec.default is not None:
            values = values.where(~pd.Series(empty), int(spec.default))
        return values.astype(object), invalid | unreadable

    if spec.type in (FieldType.MONEY, FieldType.INT):
        parse, reason = (
            (_money_cents, message("metrics.import_row_money"))
            if spec.type == FieldType.MONEY
            else (_integer, message("metrics.import_row_integer"))
        )
        values, unreadable = parse(text, empty)
        errors.add(unreadable, lines, column, raw, reason)
        if spec.default is not None:
            values = values.where(~pd.Series(empty), int(spec.default))
        return values.astype(object), invalid | unreadable

    if spec.type == FieldType.DATE:
        parsed = _local_datetimes(text, date_only=True)
        not_date = parsed.isna().to_numpy() & ~empty
        errors.add(not_date, lines, column, raw, message("metrics.import_row_date"))
        values = parsed.dt.strftime("%Y-%m-%d").where(parsed.notna(), None)
        return values.astype(object), invalid | not_date

    # DATETIME: local time of the row's store → UTC epoch seconds.
    parsed = _local_datetimes(text, date_only=False)
    if local is not None:
        local["parsed"] = parsed
    not_time = parsed.isna().to_numpy() & ~empty
    errors.add(not_time, lines, column, raw, message("metrics.import_row_datetime"))
    epoch, nonexistent = _to_epoch(parsed, zones)
    errors.add(
        nonexistent & ~not_time & ~empty,
        lines,
        column,
        raw,
        message("metrics.import_row_clock_change"),
    )
    return epoch, invalid | not_time | (nonexistent & ~empty)


def _fold_choice(text: str) -> str:
    """ "Closed_Won", "closed won" and "ＣＬＯＳＥＤ　ＷＯＮ" fold alike."""
    return re.sub(r"[\s_\-]+", " ", unicodedata.normalize("NFKC", str(text)).strip().lower())


def _phone_mask(text: pd.Series) -> pd.Series:
    """Numbers as they may be stored: a full number is never kept (personal data).

    A mobile (11 digits from 1, optionally after +86/86) keeps its first 3 and last 4 digits:
    13812341234 → 138****1234. Any other number of 8 digits or more keeps its first 3 and last 4
    characters. Already masked numbers (with *) and short service numbers (10086) stay as they are.
    """
    compact = text.str.replace(r"[\s\-()（）]", "", regex=True)
    mobile = r"^(?:\+?86)?(1\d{2})\d{4}(\d{4})$"
    is_mobile = compact.str.fullmatch(mobile).to_numpy(dtype=bool)
    other = compact.str.fullmatch(r"\+?\d{8,}").to_numpy(dtype=bool) & ~is_mobile
    masked = text.where(~is_mobile, compact.str.replace(mobile, r"\1****\2", regex=True))
    if other.any():  # landlines and foreign numbers: few, so a per-row repeat is fine
        long = compact[other]
        stars = pd.Series("*", index=long.index).str.repeat((long.str.len() - 7).tolist())
        masked[other] = long.str.slice(0, 3) + stars + long.str.slice(-4)
    return masked


def _extract(text: pd.Series, pattern: str) -> pd.DataFrame:
    """The named groups of `pattern` in each cell as floats, NaN where the cell does not match or
    the group is empty. Arrow's vectorised RE2: pandas' str.extract runs Python per row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    matched = pc.extract_regex(pa.array(text, type=pa.large_string()), pattern)
    columns = {}
    for index, name in enumerate(matched.type.names):
        values = pc.struct_field(matched, [index]).to_numpy(zero_copy_only=False)  # by position
        columns[name] = pd.to_numeric(pd.Series(values, index=text.index).replace("", None), errors="coerce")
    return pd.DataFrame(columns, index=text.index).astype("float64")


def _duration_seconds(text: pd.Series, empty: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """Whole seconds of "83" (or "83.0", rounded), "1:23" (m:ss), "0:01:23" (h:mm:ss), "1分23秒"."""
    seconds = pd.Series(np.full(len(text), np.nan), index=text.index)
    plain = text.str.fullmatch(r"\d{1,9}(?:\.\d+)?").to_numpy(dtype=bool)
    if plain.any():
        seconds[plain] = np.floor(pd.to_numeric(text[plain]).to_numpy() + 0.5)
    todo = ~plain & ~empty
    if todo.any():
        # h:mm:ss or m:ss (minutes may exceed 59 without hours: 75:10); seconds below 60.
        clock = _extract(text[todo], r"^(?:(?P<h>\d{1,4})[:：])?(?P<m>\d{1,4})[:：](?P<s>\d{1,2})$")
        clock_ok = clock["s"].notna() & (clock["s"] < 60) & (clock["h"].isna() | (clock["m"] < 60))
        seconds[clock_ok[clock_ok].index] = (clock["h"].fillna(0) * 3600 + clock["m"] * 60 + clock["s"])[clock_ok]
        todo &= seconds.isna().to_numpy()
    if todo.any():
        words = _extract(text[todo], r"^(?:(?P<h>\d{1,4})(?:小时|时))?(?:(?P<m>\d{1,5})分钟?)?(?:(?P<s>\d{1,7})秒)?$")
        words_ok = words.notna().any(axis=1)
        total = words["h"].fillna(0) * 3600 + words["m"].fillna(0) * 60 + words["s"].fillna(0)
        seconds[words_ok[words_ok].index] = total[words_ok]
    ok = seconds.notna().to_numpy() & (seconds.fillna(0).to_numpy() <= _INT_MAX)
    values = pd.Series(np.where(ok, seconds.fillna(0), 0).astype("int64"), dtype=object)
    values[~ok] = None
    return values, ~ok & ~empty


def _match_after_cleaning(text: pd.Series, empty: np.ndarray, pattern: str, junk: str) -> tuple[pd.Series, np.ndarray]:
    """(text, matches): cells matching `pattern` as they are, or once `junk` is removed.

    The common case (already clean) costs one vectorised match; only the rest is cleaned."""
    ok = text.str.fullmatch(pattern).to_numpy(dtype=bool, copy=True)
    clean = text.copy()
    todo = ~ok & ~empty
    if todo.any():
        cleaned = text[todo].str.replace(junk, "", regex=True)
        fixed = cleaned.str.fullmatch(pattern).to_numpy(dtype=bool)
        clean.iloc[np.flatnonzero(todo)[fixed]] = cleaned[fixed].to_numpy()
        ok[np.flatnonzero(todo)[fixed]] = True
    return clean, ok


def _money_cents(text: pd.Series, empty: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """Integer cents of amounts like 1234.5, ¥1,234.00 or 1234; exact integer arithmetic only."""
    clean, ok = _match_after_cleaning(text, empty, _MONEY, r"^[¥￥$]|[,，\s元]|RMB|CNY")
    valid = clean.where(pd.Series(ok), "0")
    # "1234.5" → digits "12345" with 1 decimal → × 10 → 123450 cents.
    dot = valid.str.find(".").to_numpy()
    decimals = np.where(dot >= 0, valid.str.len().to_numpy() - dot - 1, 0)
    digits = valid.str.replace(".", "", regex=False).astype("int64").to_numpy()
    values = pd.Series(digits * (10 ** (2 - decimals)), dtype=object)
    values[~ok] = None
    return values, ~ok & ~empty


def _integer(text: pd.Series, empty: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """Whole numbers 0 … 2^31-1; "1,234" and "12.0" (as spreadsheets write them) are accepted."""
    clean, ok = _match_after_cleaning(text, empty, r"\d{1,10}", r"[,，\s]|\.0+$")
    numbers = clean.where(pd.Series(ok), "0").astype("int64").to_numpy()
    ok &= numbers <= _INT_MAX
    values = pd.Series(numbers, dtype=object)
    values[~ok] = None
    return values, ~ok & ~empty


_DATE_PARTS = (
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"  # date: 2026-08-01, 2026/8/1, 2026年8月1日
    r"(?:[ T]+(\d{1,2})[:：](\d{1,2})(?:[:：](\d{1,2})(?:\.\d+)?)?)?$"  # optional time, seconds optional
)


def _local_datetimes(text: pd.Series, *, date_only: bool) -> pd.Series:
    """Naive local datetimes (NaT where unreadable): the common format fast, the rest by parts."""
    fmt = "%Y-%m-%d" if date_only else "%Y-%m-%d %H:%M:%S"
    parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    todo = parsed.isna() & (text != "")
    if todo.any():
        rest = text[todo]
        parts = rest.str.extract(_DATE_PARTS).astype("float64")
        by_parts = pd.to_datetime(
            pd.DataFrame(
                {
                    "year": parts[0], "month": parts[1], "day": parts[2],
                    "hour": parts[3].fillna(0), "minute": parts[4].fillna(0), "second": parts[5].fillna(0),
                }
            ),
            errors="coerce",
        )  # fmt: skip
        if date_only:
            # A date with a time is not a date, unless it is midnight: Excel date cells read
            # back as datetimes at 00:00:00.
            midnight = (parts[3] == 0) & (parts[4] == 0) & (parts[5].fillna(0) == 0)
            by_parts = by_parts.where(parts[3].isna() | midnight)
        # Excel serial day numbers (days since 1899-12-30), as XLSX cells without a date format hold.
        serial = pd.to_numeric(rest, errors="coerce")
        serial = serial.where((serial >= 1) & (serial < 2958466))
        from_serial = pd.to_datetime(serial * 86400, unit="s", origin="1899-12-30", errors="coerce").dt.round("s")
        if date_only:
            from_serial = from_serial.where(serial == serial.round())
        combined = by_parts.fillna(from_serial)
        parsed = parsed.astype("datetime64[ns]")
        parsed[todo] = combined.astype("datetime64[ns]")
    return parsed


def _to_epoch(naive: pd.Series, zones: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """UTC epoch seconds of naive local datetimes, each in its row's zone; NaT → None."""
    epoch = np.zeros(len(naive), dtype="int64")
    missing = naive.isna().to_numpy()
    impossible = np.zeros(len(naive), dtype=bool)
    for zone in zones.unique():
        mask = (zones == zone).to_numpy() & ~missing
        if not mask.any():
            continue
        aware = naive[mask].dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
        bad = aware.isna().to_numpy()
        impossible[np.flatnonzero(mask)[bad]] = True
        utc = aware.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[s]")
        epoch[np.flatnonzero(mask)[~bad]] = utc[~bad].astype("int64").to_numpy()
    values = pd.Series(epoch, dtype=object)
    values[missing | impossible] = None
    return values, impossible


def _check_order_of_times(kind: str, out: dict, frame: pd.DataFrame, lines, mapping, errors: _Errors) -> np.ndarray:
    """Times that contradict each other make KPIs wrong (negative response times): reject them."""
    pairs = {
        ImportKind.ORDERS: [("created_at", "paid_at", "metrics.import_row_paid_before_created")],
        ImportKind.CHATS: [
            ("started_at", "first_response_at", "metrics.import_row_response_before_start"),
            ("started_at", "ended_at", "metrics.import_row_ended_before_start"),
        ],
        ImportKind.LEADS: [("created_at", "stage_changed_at", "metrics.import_row_stage_before_created")],
    }.get(kind, [])
    bad = np.zeros(len(lines), dtype=bool)
    for earlier, later, reason in pairs:
        a = pd.to_numeric(pd.Series(out[earlier]), errors="coerce")
        b = pd.to_numeric(pd.Series(out[later]), errors="coerce")
        wrong = (b < a).fillna(False).to_numpy(dtype=bool)
        header = mapping.get(later)
        if header:
            errors.add(wrong, lines, header, frame[header].astype(str), message(reason))
        bad |= wrong
    return bad

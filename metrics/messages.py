"""Generated sentences stored as a message key and parameters, rendered in the reader's language.

A sentence the product writes and keeps (a statement line's explanation, a generated target's
name, a badge's detail, an import's error…) is stored as a *message*: a JSON object
``{"key": "incentives.base_salary", "params": {"plan": "客服标准方案"}}``. Pages, the API and the
exports call `message_render`, which looks the key up in the registry of templates (each a
`gettext_lazy` string, so `makemessages` finds it and the catalogue translates it) and formats
the parameters in the active language. A page in English and one in Chinese read the same row
in their own language; nothing is stored "in the language of the moment".

Parameters are typed, so each is formatted by the project's one formatter for it:

    "text" or 12                       as it is: names of stores, teams, members, plans, ids, counts
                                       (an int stays a number: a plural template, ngettext_lazy keyed
                                       by the parameter's name, picks its form by it)
    money(Decimal("12.50"))            ¥12.50                        (metrics.formatting.money_display)
    percent(Decimal("0.4"))            40%                           (percent_display: rules, shares)
    kpi_value("gmv", 1234.5)           the KPI's value in its unit   (kpi_display)
    kpi_label("gmv")                   the KPI's name                (registry label)
    number(Decimal("12.5"), places=1)  12.5, grouped                 (number_display)
    megabytes(2_097_153)               2.0: a size in MB, one decimal  (number_display; every size
                                       a message gives, a file's and its limit alike)
    choice("tier_mode", "marginal")    a TextChoices label           (registered choices)
    bilingual(zh="销售额", en="GMV")    the name in the reader's language (people's bilingual names)
    nested(message(...))               another message
    joined([...], separator="; ")      several parameters in a row

A message whose text could not be turned into a key (an old row the data migration did not
recognise) is stored as ``{"text": "…"}`` and shown as it is.

Each app declares its templates in `<app>/message_keys.py` with `messages_register`; the
modules are imported when Django starts (MetricsConfig.ready). Adding a sentence: add a key and
its English template there, its Chinese translation at the end of the .po file, and build the
message with `message("<key>", **params)` where it is computed. See docs/architecture.md.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Choices
from django.utils.functional import Promise
from django.utils.translation import get_language

logger = logging.getLogger(__name__)

MessageData = dict[str, Any]  # {"key": str, "params": {...}} or {"text": str}
Param = str | int | dict[str, Any]

_TEMPLATES: dict[str, Promise | str] = {}
_CHOICES: dict[str, type[Choices]] = {}


def messages_register(*, templates: Mapping[str, Promise | str], choices: Mapping[str, type[Choices]] | None = None
                      ) -> None:  # fmt: skip
    """Add message templates (key → gettext_lazy string) and the TextChoices whose labels a
    message may name. A key is registered once: two apps cannot both own one."""
    for key, template in templates.items():
        if key in _TEMPLATES and _TEMPLATES[key] is not template:
            raise ValueError(f"message key {key!r} is registered twice")
        _TEMPLATES[key] = template
    for name, enum in (choices or {}).items():
        if name in _CHOICES and _CHOICES[name] is not enum:
            raise ValueError(f"choices {name!r} are registered twice")
        _CHOICES[name] = enum


def message_keys() -> dict[str, Promise | str]:
    """Every registered key and its template (for tests and the documentation)."""
    return dict(_TEMPLATES)


# --- building messages -------------------------------------------------------------------------


def message(key: str, /, **params: Param) -> MessageData:
    """A message to store: the key (which must be registered) and its typed parameters."""
    if key not in _TEMPLATES:
        raise KeyError(f"unknown message key {key!r}: register it in the app's message_keys.py")
    return {"key": key, "params": params} if params else {"key": key}


def literal(text: str) -> MessageData:
    """Text kept as it is (an old row that no key describes, or words a person wrote)."""
    return {"text": text}


def money(value: Decimal | int | str) -> dict[str, str]:
    return {"money": str(Decimal(str(value)).quantize(Decimal("0.01")))}


def percent(fraction: Decimal | float | str, *, places: int = 1) -> dict[str, Any]:
    """A fraction (0.4) shown as a percentage with at most `places` decimals (40%)."""
    return {"percent": str(Decimal(str(fraction))), "places": places}


def kpi_value(key: str, value) -> dict[str, Any]:
    """A KPI's value in the KPI's unit (money, rate, seconds, count); None shows as a dash."""
    missing = value is None or (isinstance(value, float) and value != value)
    return {"kpi": key, "value": None if missing else str(value)}


def kpi_label(key: str) -> dict[str, str]:
    return {"kpi_label": key}


def number(value: Decimal | int | float | str, *, places: int = 0) -> dict[str, Any]:
    return {"number": str(value), "places": places}


def megabytes(size_bytes: int | float) -> dict[str, Any]:
    """A size in bytes as megabytes (MiB, as the limits are set) with one decimal: 2,097,153 →
    2.0. The one formatter of sizes: a size and the limit it is compared with read in the same
    unit and rounding, the template saying "over the limit" where both round alike."""
    mb = (Decimal(size_bytes) / (1024 * 1024)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return number(mb, places=1)


def choice(name: str, value: str) -> dict[str, str]:
    """The label of a registered TextChoices value (a tier mode, a phase, a comparison)."""
    if name not in _CHOICES:
        raise KeyError(f"unknown choices {name!r}: register them in the app's message_keys.py")
    return {"choice": name, "value": str(value)}


def bilingual(*, zh: str, en: str) -> dict[str, str]:
    """A name people wrote in both languages (an appraisal item): the reader's, else the other."""
    return {"zh": zh, "en": en}


def nested(inner: MessageData) -> dict[str, MessageData]:
    return {"message": inner}


def joined(items: Iterable[Param], *, separator: str) -> dict[str, Any]:
    return {"join": list(items), "separator": separator}


def month_text(month: dt.date) -> str:
    """A month as every message writes it, in both languages: 2026-12."""
    return f"{month:%Y-%m}"


# --- rendering -----------------------------------------------------------------------------------


def message_render_if_message(value: Any) -> str | None:
    """`value` rendered when it is a message (a key and its parameters), else None: how the change
    log (teams) shows values that are generated sentences (registered in MetricsConfig.ready)."""
    if isinstance(value, dict) and isinstance(value.get("key"), str):
        return message_render(message=value)
    return None


def message_render(*, message: MessageData | None, fallback: str = "") -> str:
    """The message in the active language; `fallback` (the row's literal text) when there is no
    message or it cannot be rendered (a key no longer registered: logged, never an error page)."""
    if not message:
        return fallback
    if "text" in message:
        return str(message["text"])
    key = message.get("key", "")
    template = _TEMPLATES.get(key)
    if template is None:
        logger.warning("message key %r is not registered", key)
        return fallback or key
    params = message.get("params") or {}
    text = str(template)
    # A plural template (ngettext_lazy keyed by a parameter's name) is empty until formatted with
    # the parameters, and then picks its form by that parameter's number.
    plural = isinstance(template, Promise) and not text
    try:
        # A template without parameters is not %-formatted (it may hold a plain "%").
        if not plural and "%(" not in text:
            return text
        values = {name: _param(value) for name, value in params.items()}
        return template % values if plural else text % values
    except (KeyError, ValueError, TypeError, ArithmeticError):
        logger.warning("message %r cannot be rendered with %r", key, params, exc_info=True)
        return fallback or key


def _param(value: Param) -> str | int:
    from metrics.formatting import EMPTY, kpi_display, money_display, number_display, percent_display
    from metrics.registry import KPI_BY_KEY

    if isinstance(value, int) and not isinstance(value, bool):
        return value  # a count: kept a number, so a plural template can choose its form by it
    if not isinstance(value, dict):
        return str(value)
    if "money" in value:
        return money_display(Decimal(value["money"]))
    if "percent" in value:
        return percent_display(Decimal(value["percent"]), places=int(value.get("places", 1)))
    if "kpi" in value:
        kpi = KPI_BY_KEY.get(value["kpi"])
        raw = value.get("value")
        if raw is None:
            return EMPTY
        return kpi_display(kpi, Decimal(raw)) if kpi is not None else str(raw)
    if "kpi_label" in value:
        kpi = KPI_BY_KEY.get(value["kpi_label"])
        return kpi.label if kpi is not None else str(value["kpi_label"])
    if "number" in value:
        return number_display(Decimal(value["number"]), places=int(value.get("places", 0)))
    if "choice" in value:
        enum = _CHOICES.get(value["choice"])
        labels = dict(enum.choices) if enum is not None else {}
        return str(labels.get(value["value"], value["value"]))
    if "zh" in value or "en" in value:
        chinese = (get_language() or "").startswith("zh")
        first, second = (value.get("zh"), value.get("en")) if chinese else (value.get("en"), value.get("zh"))
        return str(first or second or "")
    if "message" in value:
        return message_render(message=value["message"])
    if "join" in value:
        return str(value.get("separator", ", ")).join(_param(item) for item in value["join"])
    raise ValueError(f"unknown parameter {value!r}")

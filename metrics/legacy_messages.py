"""Texts written before messages existed, read back as messages: used by the data migrations
that convert an installation's generated rows (statement lines, target names, badge details,
import errors, audit labels) so they read in both languages after upgrading.

A stored text was one message template filled in, in the site's language of the day (Chinese or
English). `legacy_match` tries the template of each candidate key in each language, turned into
a regular expression whose parameters match only what they could have been (a KPI's name, an
amount of money, a percentage…), and converts what each parameter captured into a typed
parameter (metrics/messages.py). A text no template matches is left as it is (the caller keeps
it as a literal): nothing is guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

from django.conf import settings
from django.utils import translation

from metrics.messages import (
    MessageData,
    Param,
    choice,
    joined,
    kpi_label,
    kpi_value,
    message,
    message_keys,
    money,
    nested,
    number,
    percent,
)
from metrics.registry import KPIS, Unit

LANGUAGES = tuple(code for code, _name in settings.LANGUAGES)
_PARAM = re.compile(r"%\((\w+)\)s")


class NoMatch(Exception):
    """A captured text is not what its parameter could have been."""


def _in_languages(text_of: Callable[[], str]) -> list[str]:
    """What `text_of()` gives in each language (the labels of the day, both languages)."""
    texts = []
    for language in LANGUAGES:
        with translation.override(language):
            texts.append(str(text_of()))
    return texts


def _alternation(texts: Iterable[str]) -> str:
    unique = sorted({t for t in texts if t}, key=len, reverse=True)
    return "(?:" + "|".join(re.escape(t) for t in unique) + ")" if unique else "(?!)"


# --- numbers as they were written -------------------------------------------------------------

NUMBER = r"-?[\d,]+(?:\.\d+)?"


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text.replace(",", "").replace("¥", "").strip())
    except InvalidOperation:
        raise NoMatch(text) from None


def _percent(text: str) -> Param:
    digits = text.strip().rstrip("%")
    places = len(digits.split(".", 1)[1]) if "." in digits else 0
    return percent(_decimal(digits) / 100, places=max(places, 1))


@cache
def _kpi_by_label() -> dict[str, str]:
    labels = {}
    for kpi in KPIS:
        labels[kpi.label_zh] = kpi.key
        labels[kpi.label_en] = kpi.key
    return labels


def _kpi_value(key: str, text: str) -> Param:
    """A value as kpi_display wrote it, back to the KPI's unit."""
    kpi = next((k for k in KPIS if k.key == key), None)
    text = text.strip()
    if text == "—":
        return kpi_value(key, None)
    if kpi is None:
        raise NoMatch(text)
    if kpi.unit == Unit.RATE:
        if not text.endswith("%"):
            raise NoMatch(text)
        return kpi_value(key, _decimal(text[:-1]) / 100)
    if kpi.unit == Unit.SECONDS:
        match = re.fullmatch(rf"({NUMBER}) ?(s|秒|h|小时)", text)
        if not match:
            raise NoMatch(text)
        hours = match.group(2) in ("h", "小时")
        return kpi_value(key, _decimal(match.group(1)) * (3600 if hours else 1))
    return kpi_value(key, _decimal(text))


# --- the kinds of parameters ------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """What a parameter could have been: a pattern, and how to turn its text into a parameter
    (given every captured text of the match, for parameters that depend on another)."""

    pattern: Callable[[], str]
    convert: Callable[[str, dict[str, str]], Param]


def _text() -> Kind:
    return Kind(lambda: r".+?", lambda text, _groups: text)


def _fixed(pattern: str, convert: Callable[[str, dict[str, str]], Param] | None = None) -> Kind:
    return Kind(lambda: pattern, convert or (lambda text, _groups: text))


TEXT = _text()
INT = _fixed(r"\d+", lambda text, _g: int(text))
MONTH = _fixed(r"\d{4}-\d{2}")
WEEK = _fixed(r"\d{2}-\d{2}")
GRADE = _fixed(r"[SABCD]")
PLAIN = _fixed(r"-?\d+(?:\.\d+)?", lambda text, _g: f"{Decimal(text).normalize():f}")
MONEY = _fixed(rf"¥?{NUMBER}", lambda text, _g: money(_decimal(text)))
PERCENT = _fixed(rf"{NUMBER}%", lambda text, _g: _percent(text))
CMP = _fixed(r"≥|>|≤|<", lambda text, _g: choice("comparison", {"≥": "ge", ">": "gt", "≤": "le", "<": "lt"}[text]))
KPI_LABEL = Kind(lambda: _alternation(_kpi_by_label()), lambda text, _g: kpi_label(_kpi_by_label()[text]))


def kpi_value_of(label_param: str) -> Kind:
    """A KPI's value, the KPI named by another parameter (its label)."""
    pattern = rf"—|¥?{NUMBER}%?(?: ?(?:s|秒|h|小时))?"
    return Kind(lambda: pattern, lambda text, groups: _kpi_value(_kpi_by_label()[groups[label_param]], text))


def threshold_of(label_param: str) -> Kind:
    """A rule's threshold, as it was stored (0.400000) or as it is shown (40%, 20.0 s): a rate as a
    percentage, anything else in the KPI's unit."""
    shown = kpi_value_of(label_param)

    def convert(text: str, groups: dict[str, str]) -> Param:
        key = _kpi_by_label()[groups[label_param]]
        kpi = next(k for k in KPIS if k.key == key)
        if text.endswith("%"):
            return _percent(text)
        if not re.fullmatch(r"-?\d+(?:\.\d+)?", text):
            return shown.convert(text, groups)
        value = Decimal(text)
        return percent(value, places=2) if kpi.is_rate else kpi_value(key, value)

    return Kind(lambda: rf"-?\d+(?:\.\d+)?|{shown.pattern()}", convert)


def choice_of(name: str, enum) -> Kind:
    """A TextChoices label, in either language."""

    @cache
    def labels() -> dict[str, str]:
        found = {}
        for value, label in enum.choices:
            for text in _in_languages(lambda label=label: label):
                found[text] = value
        return found

    return Kind(lambda: _alternation(labels()), lambda text, _g: choice(name, labels()[text]))


def nested_of(*keys: str, kinds: dict[str, dict[str, Kind]]) -> Kind:
    """Another message (one of `keys`), e.g. "no GMV target this month"."""

    def convert(text: str, _groups: dict[str, str]) -> Param:
        found = legacy_match(text=text, keys=keys, kinds=kinds)
        if found is None:
            raise NoMatch(text)
        return nested(found)

    return Kind(lambda: r".+?", convert)


def either(*kinds: Kind) -> Kind:
    """The first kind whose pattern matches the whole text and converts."""

    def convert(text: str, groups: dict[str, str]) -> Param:
        for kind in kinds:
            if re.fullmatch(kind.pattern(), text):
                try:
                    return kind.convert(text, groups)
                except (NoMatch, KeyError, InvalidOperation):
                    continue
        raise NoMatch(text)

    return Kind(lambda: "(?:" + "|".join(k.pattern() for k in kinds) + ")", convert)


def optional_message(key: str) -> Kind:
    """A message that is there or not at all (" (a tie: the title is shared)")."""
    template = message_keys()[key]
    return Kind(
        lambda: _alternation(_in_languages(lambda: template)) + "?",
        lambda text, _g: nested(message(key)) if text else "",
    )


def joined_of(key: str, *, separator: str, kinds: dict[str, dict[str, Kind]], empty: str = "—") -> Kind:
    """Several `key` messages joined by `separator` ("1.50% × 100.00; 2.50% × 50.00")."""

    def convert(text: str, _groups: dict[str, str]) -> Param:
        if text == empty:
            return joined([empty], separator=separator)
        items = []
        for part in text.split(separator):
            found = legacy_match(text=part, keys=[key], kinds=kinds)
            if found is None:
                raise NoMatch(part)
            items.append(nested(found))
        return joined(items, separator=separator)

    return Kind(lambda: r".+?", convert)


# --- matching --------------------------------------------------------------------------------


def _regex(template: str, params: dict[str, Kind]) -> re.Pattern:
    parts, last = [], 0
    for match in _PARAM.finditer(template):
        parts.append(re.escape(template[last : match.start()].replace("%%", "%")))
        name = match.group(1)
        parts.append(f"(?P<{name}>{params[name].pattern() if name in params else TEXT.pattern()})")
        last = match.end()
    parts.append(re.escape(template[last:].replace("%%", "%")))
    return re.compile("^" + "".join(parts) + "$", re.S)


_COMPILED: dict[tuple[str, int], tuple[dict, list[re.Pattern]]] = {}


def _regexes(key: str, kinds: dict[str, dict[str, Kind]]) -> list[re.Pattern]:
    """The key's template in each language as a regular expression (built once per key and
    table of kinds; the table is kept with them, so its id cannot be reused by another)."""
    cached = _COMPILED.get((key, id(kinds)))
    if cached is None or cached[0] is not kinds:
        template = message_keys()[key]
        texts = dict.fromkeys(_in_languages(lambda: template))  # in order, once each
        cached = _COMPILED[key, id(kinds)] = (kinds, [_regex(text, kinds.get(key, {})) for text in texts])
    return cached[1]


def legacy_match(*, text: str, keys: Iterable[str], kinds: dict[str, dict[str, Kind]]) -> MessageData | None:
    """The message of the first key whose template, in a site language, gives `text`; None if none."""
    for key in keys:
        params = kinds.get(key, {})
        for regex in _regexes(key, kinds):
            found = regex.match(text)
            if not found:
                continue
            groups = found.groupdict()
            try:
                converted = {
                    name: (params[name].convert(value, groups) if name in params else value)
                    for name, value in groups.items()
                }
            except (NoMatch, KeyError, InvalidOperation, StopIteration):
                continue
            return message(key, **converted)
    return None


def number_of(text: str) -> Param:
    """A count as it was written ("1,500")."""
    value = _decimal(text)
    return number(value, places=max(0, -value.as_tuple().exponent))

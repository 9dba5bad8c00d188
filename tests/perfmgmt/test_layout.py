"""The layout issue 21 set, kept: modules small enough to read, no feature files at the top of
metrics (each feature is a package), and the rules that must live in one place not written again."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("teams", "metrics", "reviews", "incentives", "perfmgmt")
MAX_LINES = 600
# The registry is the list of every KPI, one entry each: long by nature, and read entry by entry.
LONG_BY_NATURE = {"metrics/registry.py"}


def _modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in relative:
                yield relative, path.read_text(encoding="utf-8")


def test_no_module_is_over_600_lines():
    long = {name: text.count("\n") for name, text in _modules() if text.count("\n") > MAX_LINES}
    assert set(long) <= LONG_BY_NATURE, long


def test_metrics_has_no_feature_files_at_its_top():
    top = [path.name for path in (ROOT / "metrics").glob("*.py")]
    assert not [name for name in top if re.search(r"_(views|forms|urls)\.py$", name)], top


def test_month_arithmetic_lives_in_the_periods_module():
    """perfmgmt.common.periods (month_first, month_last, month_next, month_previous) is the only
    place that works out a month's first or last day."""
    pattern = re.compile(r"replace\(day=28\)|monthrange\(|timedelta\(days=3[12]\)\)\.replace|def _?month_end\b")
    found = [name for name, text in _modules() if name != "perfmgmt/common/periods.py" and pattern.search(text)]
    assert found == []


def test_percent_and_kpi_label_copies_are_gone():
    """Shares, rates people set, KPI names and values are shown by metrics.formatting, numbers as
    typed into a form by perfmgmt.common.numbers; the copies pages, exports and forms had are gone
    (metrics.messages builds a message's parameters; metrics.legacy_messages parses old texts)."""
    pattern = re.compile(r"^def _(percent|percent_text|kpi_label|label_or_key)\(", re.M)
    kpi_label = re.compile(r"KPI_BY_KEY\[[^]]+\]\.label if")
    found = [
        name
        for name, text in _modules()
        if name != "metrics/legacy_messages.py" and (pattern.search(text) or kpi_label.search(text))
    ]
    assert found == []

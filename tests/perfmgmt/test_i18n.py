"""Both languages: every string of the product is translated to Simplified Chinese, and the
compiled catalogue that Django loads matches the source .po file."""

import shutil
from pathlib import Path

import polib
import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
ZH = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES"


def test_every_message_has_a_chinese_translation():
    catalogue = polib.pofile(str(ZH / "django.po"))
    untranslated = [entry.msgid for entry in catalogue.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalogue.fuzzy_entries()]
    assert untranslated == [] and fuzzy == []
    assert len(catalogue) > 100


def test_compiled_catalogue_matches_the_po_file():
    source = {(e.msgctxt, e.msgid): (e.msgstr or e.msgstr_plural.get(0)) for e in polib.pofile(str(ZH / "django.po"))}
    compiled = {(e.msgctxt, e.msgid): (e.msgstr or e.msgstr_plural.get(0)) for e in polib.mofile(str(ZH / "django.mo"))}
    assert compiled == {key: value for key, value in source.items() if value}, "run `make messages`"


def test_templates_and_code_have_no_message_missing_from_the_catalogue(tmp_path, settings, monkeypatch):
    """makemessages on a copy of the tree adds nothing new: no string was left out of the .po."""
    if not shutil.which("xgettext"):
        pytest.skip("GNU gettext (xgettext) is not installed")
    work = tmp_path / "tree"
    shutil.copytree(
        ROOT,
        work,
        ignore=shutil.ignore_patterns(".venv", "var", ".git", "staticfiles", "tests", "__pycache__"),
    )
    # makemessages writes into LOCALE_PATHS[0] and scans the current directory: both the copy.
    settings.LOCALE_PATHS = [work / "locale"]
    monkeypatch.chdir(work)
    call_command("makemessages", locale=["zh_Hans"], no_obsolete=True, verbosity=0)
    before = {e.msgid for e in polib.pofile(str(ZH / "django.po"))}
    after = {e.msgid for e in polib.pofile(str(work / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))}
    assert after - before == set(), "run `make messages` and translate the new strings"

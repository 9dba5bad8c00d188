"""Security: the Content-Security-Policy and templates without inline script or style, CSRF on every
session-authenticated write, production's HTTPS cookies and headers, login throttling on the token
endpoint too, request and upload limits, and hostile names (HTML and spreadsheet formulas) shown and
exported inertly from import to every page, API answer and export."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import importlib
import io
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import translation
from django.utils.html import escape
from openpyxl import load_workbook
from rest_framework.authtoken.models import Token

from metrics.models import ImportStatus, Order
from tests.factories import PASSWORD
from tests.metrics.helpers import CHAT_HEADER, ORDER_HEADER

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"

HOSTILE_ACCOUNT = "<script>alert(1)</script>"
FORMULA_ACCOUNT = "=cmd|' /C calc'!A0"
HOSTILE_A = "<img src=x onerror=alert(1)>"
HOSTILE_B = '<script>alert("x")</script>'
# A team name that is HTML, a formula, and no valid sheet name (forbidden characters, > 31 long).
HOSTILE_TEAM = '=[售前]/<script>alert("team")</script> *?:\\ and more than 31 characters'
BUYERS = ["=cmd|' /C calc'!A0", "+SUM(1,2)", "@SUM(1)", "-2+3"]
HTML_NAMES = [HOSTILE_ACCOUNT, HOSTILE_A, HOSTILE_B, HOSTILE_TEAM]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --- Content-Security-Policy ---------------------------------------------------------------------


def _policy(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def test_every_page_has_a_policy_without_inline_script(client, org):
    client.force_login(org.users["admin"])
    for url in (reverse("home"), reverse("login"), reverse("swagger_ui"), reverse("admin:index"), "/api/members/"):
        response = client.get(url, follow=True)
        policy = _policy(response.headers["Content-Security-Policy"])
        assert policy["default-src"] == ["'self'"]
        assert policy["script-src"] == ["'self'"], "no 'unsafe-inline', no 'unsafe-eval', no host"
        assert policy["object-src"] == ["'none'"]
        assert policy["base-uri"] == ["'self'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["form-action"] == ["'self'"]
        assert policy["img-src"] == ["'self'", "data:", "blob:"]  # blob: for plotly's PNG download
        assert "'unsafe-inline'" not in policy["style-src"]
        assert not any("'unsafe-eval'" in values for values in policy.values())


def _plotly_inline_styles() -> list[str]:
    """The inline styles the installed plotly.js writes (see the CSP comment in settings/base.py)."""
    source = (Path(__import__("plotly").__file__).parent / "package_data" / "plotly.min.js").read_text("utf-8")
    declarations = json.loads(re.search(r"CSS_DECLARATIONS=(\[\[.*?\]\])", source).group(1))
    image_rendering = "".join(": ".join(pair) + "; " for pair in declarations)
    injected = re.findall(r"\.textContent='((?:[^'\\]|\\.)*)'", source)
    assert len(injected) == 1 and injected[0].startswith(".maplibregl"), "plotly.js injects other CSS now"
    assert '"plotly.js-style-"+' in source, "plotly.js no longer writes its rules into an empty <style>"
    return ["", injected[0], image_rendering]


def test_style_src_allows_exactly_the_inline_styles_plotly_writes():
    expected = [
        "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"
        for text in _plotly_inline_styles()
    ]
    style_src = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["style-src"]
    assert style_src == ["'self'", "'unsafe-hashes'", *expected]


def _template_files() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


def test_templates_have_no_inline_script_handler_or_style():
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|\sstyle\s*=|<style\b|javascript:", re.IGNORECASE)
    found = []
    for path in _template_files():
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            # Template tags are not markup: DRF's {% render_field … style=style %} passes its options.
            if inline.search(re.sub(r"{%.*?%}", "", line)):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert len(_template_files()) > 50
    assert found == []


def test_every_post_form_in_a_template_has_a_csrf_token():
    forms = 0
    missing = []
    for path in _template_files():
        text = path.read_text("utf-8")
        for match in re.finditer(r"<form\b[^>]*>", text, re.IGNORECASE):
            if not re.search(r"method\s*=\s*[\"']?post", match.group(0), re.IGNORECASE):
                continue
            forms += 1
            end = text.find("</form>", match.end())
            if "{% csrf_token %}" not in text[match.end() : end]:
                missing.append(f"{path.relative_to(ROOT)}: {match.group(0)[:80]}")
    assert forms >= 29
    assert missing == []


# --- CSRF ------------------------------------------------------------------------------------------


SAMPLE_ARGUMENTS = {"app_label": "teams"}  # the admin's app pages take an installed app


@dataclass
class Route:
    name: str
    path: str
    api: bool


def _routes() -> list[Route]:
    """Every named address of the URLconf, with 1 for each of its arguments."""
    found: list[Route] = []

    def walk(patterns, namespace: str | None) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace
                walk(pattern.url_patterns, f"{namespace}:{inner}" if namespace and inner else inner or namespace)
            elif isinstance(pattern, URLPattern) and pattern.name:
                groups = set(pattern.pattern.regex.groupindex)
                if "format" in groups:
                    continue  # the same view as without the suffix
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                path = reverse(name, kwargs={g: SAMPLE_ARGUMENTS.get(g, "1") for g in groups})
                api = hasattr(pattern.callback, "cls")  # a DRF view: csrf_exempt, CSRF in SessionAuthentication
                found.append(Route(name, path, api))

    walk(get_resolver().url_patterns, None)
    return list({route.path: route for route in found}.values())


def _csrf_client(user) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get(reverse("home"))  # the page's forms set the CSRF cookie
    return client, client.cookies[settings.CSRF_COOKIE_NAME].value


def test_every_session_post_without_the_csrf_token_is_refused(org):
    routes = _routes()
    client, _token = _csrf_client(org.users["admin"])
    names = {route.name for route in routes}
    # The addresses the templates' forms post to are among them.
    assert {"incentives:bulk", "reviews:cycle_advance", "teams:account_assign", "set_language", "logout"} <= names
    assert {"admin:teams_member_add", "platform-account-assign", "import-batch-list"} <= names
    refused, wrong = 0, []
    for route in routes:
        if route.name in ("api_token",):
            continue  # signing in for a token takes no session (tested below)
        client.force_login(org.users["admin"])
        response = client.post(route.path, {"x": "1"})
        if response.status_code != 403:
            wrong.append(f"{route.name} {route.path}: {response.status_code} without a token")
            continue
        if route.api:
            # DRF's answer in the view's format; the Swagger page's HTML 403 page does not say why
            # (the same POST with the token passes, below).
            if b"CSRF Failed" not in response.content and response["Content-Type"].startswith(
                "application/"
            ):  # DRF's answer, in whatever format the view renders
                wrong.append(f"{route.name}: 403 but not for CSRF: {response.content[:200]}")
        elif "403_csrf.html" not in [t.name for t in response.templates]:
            wrong.append(f"{route.name}: 403 but not the CSRF page")
        refused += 1
    assert wrong == []
    assert refused > 100


def test_the_same_session_posts_with_the_token_get_past_csrf(org):
    client, token = _csrf_client(org.users["admin"])
    wrong, checked = [], 0
    for route in _routes():
        if route.name == "api_token" or (route.name.startswith("admin:") and route.name != "admin:login"):
            continue
        client.force_login(org.users["admin"])
        response = client.post(route.path, {"x": "1"}, HTTP_X_CSRFTOKEN=token)
        checked += 1
        if response.status_code == 403 and route.path != reverse("behaviour-record-list"):
            wrong.append(f"{route.name} {route.path}: 403 with the token")
    assert wrong == []
    assert checked > 60
    # The one 403 left is the view's own rule (the admin is no member), not CSRF.
    client.force_login(org.users["admin"])
    denied = client.post(
        reverse("behaviour-record-list"), {"x": "1"}, HTTP_X_CSRFTOKEN=token, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert denied.status_code == 403 and denied.json()["detail"] == "Counts are recorded by staff linked to a member."


def test_api_session_writes_need_the_csrf_token_and_token_writes_do_not(org):
    url = reverse("platform-account-assign", args=[org.unassigned_s1.pk])
    payload = json.dumps({"member": org.a.pk, "start_date": "2026-11-01"})
    session, token = _csrf_client(org.users["admin"])
    refused = session.post(url, payload, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert not org.unassigned_s1.assignments.exists()
    accepted = session.post(url, payload, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201, accepted.content
    # A token in the Authorization header is no ambient credential: no CSRF token needed.
    api = Client(enforce_csrf_checks=True)
    key = Token.objects.create(user=org.users["admin"]).key
    payload = json.dumps({"member": org.b.pk, "start_date": "2026-11-05"})
    response = api.post(url, payload, content_type="application/json", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 201, response.content
    assert org.unassigned_s1.assignments.get(end_date__isnull=True).member == org.b


# --- production: HTTPS only, secure cookies, HSTS ----------------------------------------------------


@pytest.fixture
def production(monkeypatch):
    """The security settings of perfmgmt.settings.production, over the test settings."""
    monkeypatch.setenv("DJANGO_SECRET_KEY", "x" * 60)
    module = importlib.reload(importlib.import_module("perfmgmt.settings.production"))
    names = [
        n
        for n in dir(module)
        if n.startswith(("SECURE_", "SESSION_", "CSRF_", "CONTENT_SECURITY")) or n in ("X_FRAME_OPTIONS", "DEBUG")
    ]
    with override_settings(**{n: getattr(module, n) for n in names}):
        yield module


def test_production_answers_https_only_with_hsts_policy_and_secure_cookies(production, org):
    client = Client()
    plain = client.get(reverse("login"))
    assert plain.status_code == 301 and plain["Location"] == f"https://testserver{reverse('login')}"
    assert client.get(reverse("healthz"), {"live": ""}).status_code == 200  # the container's health check, inside
    https = {"HTTP_X_FORWARDED_PROTO": "https"}  # as the TLS-terminating proxy sets it
    page = client.get(reverse("login"), **https)
    assert page.status_code == 200
    hsts = dict([*part.strip().split("="), ""][:2] for part in page.headers["Strict-Transport-Security"].split(";"))
    assert int(hsts["max-age"]) >= 365 * 24 * 3600 and "includeSubDomains" in hsts
    assert _policy(page.headers["Content-Security-Policy"])["script-src"] == ["'self'"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.cookies[settings.CSRF_COOKIE_NAME]["secure"] is True
    login = client.post(reverse("login"), {"username": "staff_a", "password": PASSWORD}, **https)
    assert login.status_code == 302
    session = login.cookies[settings.SESSION_COOKIE_NAME]
    assert session["secure"] is True and session["httponly"] is True and session["samesite"] == "Lax"
    assert login.cookies[settings.CSRF_COOKIE_NAME]["secure"] is True  # rotated at login


# --- login throttling: the token endpoint counts too -------------------------------------------------


@override_settings(AXES_FAILURE_LIMIT=3)
def test_failures_at_the_token_endpoint_and_the_login_form_lock_the_same_pair(org, client):
    api = Client()
    token_url = reverse("api_token")
    assert api.post(token_url, {"username": "staff_a", "password": "wrong"}).status_code == 400
    assert api.post(token_url, {"username": "staff_a", "password": "wrong"}).status_code == 400
    # The third failure, on the login form, locks staff_a from this address everywhere.
    assert client.post(reverse("login"), {"username": "staff_a", "password": "nope"}).status_code == 429
    locked = api.post(token_url, {"username": "staff_a", "password": PASSWORD})
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    assert client.post(reverse("login"), {"username": "staff_a", "password": PASSWORD}).status_code == 429
    # Another username from the same address still signs in.
    assert api.post(token_url, {"username": "staff_b", "password": PASSWORD}).status_code == 200


# --- request and upload limits ---------------------------------------------------------------------------


def test_request_limits_are_set_in_the_settings_and_enforced(org, client):
    base = importlib.import_module("perfmgmt.settings.base")
    for name in ("DATA_UPLOAD_MAX_MEMORY_SIZE", "DATA_UPLOAD_MAX_NUMBER_FIELDS", "FILE_UPLOAD_MAX_MEMORY_SIZE"):
        assert name in vars(base), f"{name} is left to Django's default"
    client.force_login(org.users["admin"])
    url = reverse("targets:alert_read")
    fields = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    assert client.post(url, {f"f{n}": "1" for n in range(fields + 1)}).status_code == 400
    assert client.post(url, {f"f{n}": "1" for n in range(fields - 1)}).status_code != 400
    big = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    assert client.post(url, {"next": big}).status_code == 400


def test_an_upload_over_the_size_limit_is_refused_with_its_reason_and_writes_nothing(org, client, settings):
    settings.IMPORT_MAX_FILE_MB = 0.0001  # about 100 bytes
    lines = [ORDER_HEADER] + [
        f"Q{n},tb_{n},100.00,100.00,交易成功,2026-08-01 10:00:00,2026-08-01 10:05:00,裙,1,1,0.00,{org.s1.name}"
        for n in range(5)
    ]
    content = ("\n".join(lines) + "\n").encode("utf-8-sig")
    assert len(content) > settings.IMPORT_MAX_FILE_MB * 1024 * 1024
    client.force_login(org.users["admin"])
    with translation.override("en"):
        page = client.post(
            reverse("metrics:upload"),
            {"files": SimpleUploadedFile("orders.csv", content, "text/csv")},
            follow=True,
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert page.status_code == 200
    body = page.content.decode()
    # Sizes show one decimal of MB (metrics.messages.megabytes): this test's 0.0001 MB limit reads 0.0.
    assert "over the 0.0 MB limit" in body and "Split the export by date range" in body
    api = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=org.users['admin']).key}")
    answer = api.post(
        reverse("import-batch-list"),
        {"file": SimpleUploadedFile("orders.csv", content, "text/csv")},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert answer.status_code == 201
    assert answer.json()["status"] == ImportStatus.REFUSED and "MB limit" in answer.json()["error_message"]
    assert Order.objects.count() == 0


# --- spreadsheet exports: sheet names and formula safety -------------------------------------------------


def test_xlsx_export_sheet_names_are_made_valid_and_text_stays_text():
    from perfmgmt.common.exports import xlsx_bytes

    for name in ("leaderboard-" + HOSTILE_TEAM, "a/b", "[x]", "History", "'quoted'", "x" * 40, ""):
        book = load_workbook(io.BytesIO(xlsx_bytes(["name", "=header"], [[name, Decimal("1.5")]], sheet=name)))
        (title,) = book.sheetnames
        assert 0 < len(title) <= 31 and not set(title) & set("[]:*?/\\") and title.lower() != "history"
        assert title[0] != "'" and title[-1] != "'"
        header, row = book.active["A1":"B2"]
        assert header[1].value == "=header" and header[1].data_type == "s" and header[1].quotePrefix
        assert row[1].value == 1.5 and row[1].number_format == "0.00"
    book = load_workbook(io.BytesIO(xlsx_bytes(["n"], [["bell\x07" + BUYERS[0]]], sheet="s")))
    cell = book.active["A2"]
    assert cell.value == "bell" + BUYERS[0] and cell.data_type == "s"  # the control character dropped


# --- hostile names from the import to every page, answer and export ---------------------------------------


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


@dataclass
class Hostile:
    org: object
    day: dt.date
    month: dt.date
    chats: object
    errors: object
    cycle: object
    appraisal: object
    statement: object


@pytest.fixture
def hostile(org, tmp_path) -> Hostile:
    """Chats of an agent account named <script>… and one named =cmd…, with buyers whose names are
    formulas, imported through the real services; the accounts mapped to members A (<img …>) and
    B (<script>…) of team X (HTML, formula and no valid sheet name); KPIs recomputed; an orders file
    with formulas and HTML as invalid values; an appraisal cycle and pay statements of the month."""
    from incentives.models import Plan, PlanAssignment
    from incentives.services.statements import statements_refresh
    from metrics.importing.services import chats_import, orders_import
    from metrics.kpis.services import kpis_after_import, kpis_recompute_store_full
    from perfmgmt.common.periods import store_today
    from perfmgmt.demo.incentives import DEMO_PLAN
    from reviews.services.cycles import cycle_create
    from reviews.services.templates import appraisal_templates_ensure
    from teams.models import PlatformAccount
    from teams.selectors.scoping import viewer_get
    from teams.services.accounts import account_assign

    store, day = org.s1, store_today(org.s1) - dt.timedelta(days=2)
    org.a.display_name, org.b.display_name, org.x.name = HOSTILE_A, HOSTILE_B, HOSTILE_TEAM
    for changed in (org.a, org.b, org.x):
        changed.save()
    org.users["admin"].is_staff = True  # a superuser made by createsuperuser: the Django admin too
    org.users["admin"].save()
    chats, orders = [], []
    for n, (buyer, account) in enumerate(zip(BUYERS, [HOSTILE_ACCOUNT, FORMULA_ACCOUNT] * 2, strict=True)):
        at = dt.datetime.combine(day, dt.time(10 + n))
        chats.append([f"H{n}", store.name, account, buyer, f"{at:%Y-%m-%d %H:%M:%S}",
                      f"{at + dt.timedelta(seconds=20):%Y-%m-%d %H:%M:%S}", "", "3", "4"])  # fmt: skip
        paid = at + dt.timedelta(minutes=30)
        orders.append([f"HO{n}", buyer, "88.00", "88.00", "交易成功", f"{paid:%Y-%m-%d %H:%M:%S}",
                       f"{paid:%Y-%m-%d %H:%M:%S}", "连衣裙", "1", "1", "0.00", store.name])  # fmt: skip
    chat_file = tmp_path / "chats.csv"
    chat_file.write_text(CHAT_HEADER + "\n" + _csv(chats), encoding="utf-8-sig")
    order_file = tmp_path / "orders.csv"
    order_file.write_text(ORDER_HEADER + "\n" + _csv(orders), encoding="utf-8-sig")
    batches = [
        importer(store=None, file=path, user=None)
        for importer, path in ((chats_import, chat_file), (orders_import, order_file))
    ]
    for batch in batches:
        assert batch.status == ImportStatus.SUCCEEDED, (batch.error_message, list(batch.row_errors.values()))
        kpis_after_import(batch=batch)
    # Formulas and HTML where amounts and times belong: rejected rows, reported with their values.
    bad = [
        [f"HX{n}", "tb_x", value, value, "交易成功", created, created, "裙", "1", "1", "0.00", store.name]
        for n, (value, created) in enumerate(
            [(v, f"{day} 10:00:00") for v in BUYERS] + [("1.00", HOSTILE_A), ("1.00", HOSTILE_ACCOUNT)]
        )
    ]
    bad_file = tmp_path / "bad.csv"
    bad_file.write_text(ORDER_HEADER + "\n" + _csv(bad), encoding="utf-8-sig")
    errors = orders_import(store=None, file=bad_file, user=None, skip_invalid=True)
    assert errors.rejected == len(bad), list(errors.row_errors.values_list("value", "reason"))

    start = day - dt.timedelta(days=30)
    account_assign(account=PlatformAccount.objects.get(name=HOSTILE_ACCOUNT), member=org.a, start_date=start)
    account_assign(account=PlatformAccount.objects.get(name=FORMULA_ACCOUNT), member=org.b, start_date=start)
    kpis_recompute_store_full(store=store)

    month = day.replace(day=1)
    admin = viewer_get(user=org.users["admin"])
    template = next(t for t in appraisal_templates_ensure() if t.key == "results-behaviour-growth")
    cycle = cycle_create(viewer=admin, user=None, store=store, team=org.x, month=month, template=template)
    PlanAssignment.objects.create(plan=Plan.objects.create(**DEMO_PLAN), team=org.x, start_date=month)
    statements = statements_refresh(store=store, month=month)
    return Hostile(
        org=org,
        day=day,
        month=month,
        chats=batches[0],
        errors=errors,
        cycle=cycle,
        appraisal=cycle.appraisals.get(member=org.a),
        statement=next(s for s in statements if s.member_id == org.a.pk),
    )


def _page(client, url: str) -> str:
    with translation.override("en"):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return response.content.decode()


def test_hostile_names_are_shown_escaped_on_every_page(hostile, client):
    org = hostile.org
    client.force_login(org.users["admin"])
    month = f"month={hostile.month:%Y-%m}"
    pages = {
        reverse("teams:member_list"): [HOSTILE_A, HOSTILE_B, HOSTILE_TEAM],
        reverse("teams:member_detail", args=[org.a.pk]): [HOSTILE_A, HOSTILE_ACCOUNT, HOSTILE_TEAM],
        reverse("teams:team_list"): [HOSTILE_TEAM],
        reverse("teams:account_list") + "?status=assigned": [HOSTILE_ACCOUNT, FORMULA_ACCOUNT, HOSTILE_A, HOSTILE_B],
        reverse("dashboards:team") + f"?team={org.x.pk}": [HOSTILE_A, HOSTILE_B, HOSTILE_TEAM],
        reverse("dashboards:member", args=[org.a.pk]): [HOSTILE_A],
        reverse("dashboards:stores"): [],
        reverse("metrics:batch_detail", args=[hostile.chats.pk]): [],
        reverse("metrics:batch_detail", args=[hostile.errors.pk]): [*BUYERS, HOSTILE_A, HOSTILE_ACCOUNT],
        reverse("targets:list"): [],
        reverse("reviews:overview") + f"?{month}": [HOSTILE_TEAM],
        reverse("reviews:cycle", args=[hostile.cycle.pk]): [HOSTILE_A, HOSTILE_B, HOSTILE_TEAM],
        reverse("reviews:appraisal", args=[hostile.appraisal.pk]): [HOSTILE_A],
        reverse("reviews:print", args=[hostile.appraisal.pk]): [HOSTILE_A, HOSTILE_TEAM],
        reverse("incentives:statements") + f"?{month}&store={org.s1.pk}": [HOSTILE_A, HOSTILE_B],
        reverse("incentives:statement", args=[hostile.statement.pk]): [HOSTILE_A],
        reverse("admin:teams_member_changelist"): [HOSTILE_A, HOSTILE_B],
    }
    wrong = []
    for url, shown in pages.items():
        body = _page(client, url)
        wrong += [f"{url}: raw {name}" for name in HTML_NAMES if name in body]
        wrong += [f"{url}: {name} not shown" for name in shown if escape(name) not in body]
    assert wrong == []


def _strings(data) -> set[str]:
    if isinstance(data, dict):
        return set().union(*(_strings(v) for v in data.values())) if data else set()
    if isinstance(data, list):
        return set().union(*(_strings(v) for v in data)) if data else set()
    return {data} if isinstance(data, str) else set()


def test_the_api_returns_hostile_names_unchanged(hostile, api_for):
    org = hostile.org
    api = api_for(org.users["admin"])
    start, end = hostile.day - dt.timedelta(days=3), hostile.day
    answers = {
        reverse("member-list"): {HOSTILE_A, HOSTILE_B},
        reverse("team-list"): {HOSTILE_TEAM},
        reverse("platform-account-list"): {HOSTILE_ACCOUNT, FORMULA_ACCOUNT},
        reverse("import-batch-errors", args=[hostile.errors.pk]): {*BUYERS, HOSTILE_A, HOSTILE_ACCOUNT},
        reverse("api_dashboard_team") + f"?team={org.x.pk}": {HOSTILE_A, HOSTILE_B},
        reverse("kpis") + f"?level=member&grain=day&start={start}&end={end}": {HOSTILE_A, HOSTILE_B},
    }
    for url, expected in answers.items():
        response = api.get(url)
        assert response.status_code == 200, (url, response.content)
        assert expected <= _strings(response.json()), url


def _assert_inert_csv(content: bytes, expected: set[str]) -> None:
    text = content.decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    for cell in cells:
        if cell.startswith(FORMULA_START):
            float(cell)  # only a number may start like a formula
    for name in expected:
        inert = f"'{name}" if name.startswith(FORMULA_START) else name
        assert any(inert in cell for cell in cells), f"{name!r} not in the CSV as {inert!r}"
        assert not any(cell.startswith(name) for cell in cells if name.startswith(FORMULA_START))


def _assert_inert_xlsx(content: bytes, expected: set[str]) -> list[str]:
    book = load_workbook(io.BytesIO(content))
    values = []
    for sheet in book.worksheets:
        assert len(sheet.title) <= 31 and not set(sheet.title) & set("[]:*?/\\")
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula: {cell.value}"
                if isinstance(cell.value, str):
                    assert cell.data_type == "s"
                    if cell.value.startswith(FORMULA_START):
                        assert cell.quotePrefix, f"{sheet.title}!{cell.coordinate} {cell.value!r} has no quote prefix"
                    values.append(cell.value)
    for name in expected:
        assert any(name in value for value in values), f"{name!r} not in the workbook"
    return book.sheetnames


def test_every_export_writes_hostile_names_inertly(hostile, client, tmp_path):
    org = hostile.org
    client.force_login(org.users["admin"])
    members = {HOSTILE_A, HOSTILE_B}

    # The KPI exports (command), members and teams, CSV and XLSX.
    start, end = f"{hostile.day - dt.timedelta(days=3)}", f"{hostile.day}"
    for level, expected in (("member", {*members, FORMULA_ACCOUNT}), ("team", {HOSTILE_TEAM})):
        for fmt in ("csv", "xlsx"):
            out = tmp_path / f"{level}.{fmt}"
            call_command("export_kpis", level=level, grain="day", start=start, end=end, format=fmt, out=out)
            (_assert_inert_csv if fmt == "csv" else _assert_inert_xlsx)(out.read_bytes(), expected)

    # The dashboards' downloads.
    for url, expected in (
        (reverse("dashboards:team") + f"?team={org.x.pk}", members),
        (reverse("dashboards:member", args=[org.a.pk]), set()),
        (reverse("dashboards:stores"), set()),
    ):
        for fmt in ("csv", "xlsx"):
            with translation.override("en"):
                response = client.get(f"{url}{'&' if '?' in url else '?'}export={fmt}")
            assert response.status_code == 200, (url, fmt)
            if fmt == "csv":
                _assert_inert_csv(response.content, expected)
            else:
                _assert_inert_xlsx(response.content, expected)

    # The import's rejected rows.
    response = client.get(reverse("metrics:batch_errors_csv", args=[hostile.errors.pk]))
    _assert_inert_csv(response.content, {*BUYERS, HOSTILE_A, HOSTILE_ACCOUNT})

    # HR's appraisal and payout workbooks: a sheet per team, named from the hostile team name.
    month = f"month={hostile.month:%Y-%m}&lang=en"
    sheets = _assert_inert_xlsx(client.get(reverse("reviews:export") + f"?{month}").content, {*members, HOSTILE_TEAM})
    assert any(name.startswith("=_售前__<script>alert(") for name in sheets), sheets
    _assert_inert_xlsx(client.get(reverse("incentives:export") + f"?{month}").content, {*members, HOSTILE_TEAM})

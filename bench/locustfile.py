"""Who browses in the load test (bench/bench_load.py), and what they open.

Run by bench_load.py, which writes the people's sessions and tokens and the data's days to the
JSON file named by LOAD_CONFIG; every request is also appended to LOAD_REQUEST_LOG (one CSV row:
start time, name, group, milliseconds, status, error, URL) so that the bench can take percentiles of
any time window (scenario B: while the import runs).

The people (weights are their share of --users; 20 users give exactly these counts):
- store manager (5): the team dashboard of their store with varied periods, trend KPI and
  order; the store overview; a member's page (drill-down); now and then the home page;
- team lead (3): their team's dashboard, mostly the default view, and their members' pages;
- staff (6): their own page (/dashboard/me/), mostly the default view; now and then the same
  through the API with their token (/api/dashboards/me/, /api/kpis/ of themselves);
- HR (1): team dashboards of any store, the store overview, the member list;
- API client (5): a reporting tool with a manager's token over every store: /api/kpis/ at the
  three levels, /api/dashboards/team|members|stores/, and the list endpoints.
Everyone waits 1–3 s between requests. One person in five reads the site in English (the
language is part of the dashboards' cache key), the others in Chinese, the default.

LOAD_SKIP_TASKS (comma-separated, e.g. "ApiClient.kpis_store") leaves tasks out of the mix, to
see the others without one that holds the server (bench_load.py --skip-task).

Periods: 60 % presets (last30 most often: the default view), 25 % a calendar month of the data,
15 % an arbitrary 7-, 30- or 90-day window anywhere in the data. Redirects are not followed:
anything but 200 counts as an error (a redirect to the login page would otherwise pass).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import random
import re
import time

from locust import HttpUser, between, events, task

CONFIG = json.loads(open(os.environ["LOAD_CONFIG"], encoding="utf-8").read())  # noqa: SIM115
FIRST = dt.date.fromisoformat(CONFIG["first_day"])
LAST = dt.date.fromisoformat(CONFIG["last_day"])
PRESETS = ["last30"] * 4 + ["last7", "yesterday", "this_week", "this_month", "last_month", "today"]
TREND_KPIS = ["paid_orders", "aov", "inquiry_to_payment_rate", "avg_first_response_s"]
SORT_KEYS = ["gmv", "-gmv", "paid_orders", "aov", "avg_first_response_s"]
ENGLISH_SHARE = 0.2
STATIC = re.compile(r"""(?:src|href)="(/static/[^"]+)\"""")

_log = open(os.environ["LOAD_REQUEST_LOG"], "a", encoding="utf-8", newline="")  # noqa: SIM115
_writer = csv.writer(_log)


@events.request.add_listener
def _record(request_type, name, response_time, response_length, response, context, exception, start_time=None, **_):
    group = name.split(":", 1)[0]
    status = getattr(response, "status_code", 0) or 0
    url = _.get("url") or ""  # with its query: which page exactly (response.url holds the name here)
    _writer.writerow(
        [f"{start_time or time.time():.3f}", name, group, f"{response_time:.1f}", status, exception or "", url]
    )


@events.quitting.add_listener
def _close(environment, **_):
    _log.flush()


def months() -> list[tuple[dt.date, dt.date]]:
    """The calendar months inside the data."""
    spans, start = [], FIRST.replace(day=1)
    while start <= LAST:
        end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        if start >= FIRST and end <= LAST:
            spans.append((start, end))
        start = end + dt.timedelta(days=1)
    return spans


MONTHS = months()


def period() -> dict[str, str]:
    """The period part of a dashboard query (see the module's docstring for the mix)."""
    draw = random.random()
    if draw < 0.60:
        return {"preset": random.choice(PRESETS)}
    if draw < 0.85 and MONTHS:
        start, end = random.choice(MONTHS)
    else:
        days = random.choice([7, 30, 90])
        start = FIRST + dt.timedelta(days=random.randrange(max((LAST - FIRST).days - days + 2, 1)))
        end = start + dt.timedelta(days=days - 1)
    return {"preset": "custom", "start": start.isoformat(), "end": end.isoformat()}


def api_window(days: int) -> dict[str, str]:
    start = FIRST + dt.timedelta(days=random.randrange(max((LAST - FIRST).days - days + 2, 1)))
    return {"start": start.isoformat(), "end": (start + dt.timedelta(days=days - 1)).isoformat()}


class Person(HttpUser):
    """Signs in with a session prepared by the bench (no password hashing under load)."""

    abstract = True
    wait_time = between(1, 3)
    role = ""

    def on_start(self):
        people = CONFIG[self.role]
        self.me = people[random.randrange(len(people))]
        if "session" in self.me:
            # Set on the client's jar without the Secure flag: the production cookie is Secure,
            # and this is plain HTTP on loopback (TLS would end at the proxy in production).
            self.client.cookies.set(CONFIG["session_cookie"], self.me["session"])
        if random.random() < ENGLISH_SHARE:
            self.client.cookies.set(CONFIG["language_cookie"], "en")
        self.api_headers = {"Authorization": f"Token {self.me['token']}"} if "token" in self.me else {}
        if self.role != "api":
            self.static_assets()

    def static_assets(self):
        """A first visit: the page and its static files (a browser keeps them afterwards)."""
        response = self.get("/", "page: home")
        for path in sorted(set(STATIC.findall(response.text or ""))):
            self.get(path, "static: assets")

    def get(self, path: str, name: str, params: dict | None = None, api: bool = False):
        headers = self.api_headers if api else None
        with self.client.get(
            path, params=params, name=name, headers=headers, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code == 0:  # no answer at all: the connection failed or was closed
                response.failure(f"no response: {response.error!r}")
            elif response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            elif api and not response.headers.get("Content-Type", "").startswith("application/json"):
                response.failure("not JSON")
            return response


class StoreManager(Person):
    weight = 5
    role = "managers"

    @task(6)
    def team_dashboard(self):
        params = {"team": random.choice(self.me["teams"]), **period()}
        if random.random() < 0.2:
            params["kpi"] = random.choice(TREND_KPIS)
        if random.random() < 0.15:
            params["sort"] = random.choice(SORT_KEYS)
        self.get("/dashboard/", "dashboard page: team", params)

    @task(2)
    def store_overview(self):
        self.get("/dashboard/stores/", "dashboard page: stores", period())

    @task(3)
    def member_page(self):
        self.get(f"/dashboard/members/{random.choice(self.me['members'])}/", "dashboard page: member", period())

    @task(1)
    def home(self):
        self.get("/", "page: home")


class TeamLead(Person):
    weight = 3
    role = "leads"

    @task(5)
    def team_dashboard(self):
        params = {"team": self.me["team"]}
        if random.random() < 0.5:
            params.update(period())
        self.get("/dashboard/", "dashboard page: team", params)

    @task(4)
    def member_page(self):
        params = period() if random.random() < 0.5 else None
        self.get(f"/dashboard/members/{random.choice(self.me['members'])}/", "dashboard page: member", params)


class Staff(Person):
    weight = 6
    role = "staff"

    @task(6)
    def my_page(self):
        self.get("/dashboard/me/", "dashboard page: me", period() if random.random() < 0.3 else None)

    @task(1)
    def my_page_api(self):
        self.get("/api/dashboards/me/", "dashboard API: me", None, api=True)

    @task(1)
    def my_kpis_api(self):
        self.get("/api/kpis/", "API: kpis member/day", {"level": "member", "grain": "day", **api_window(30)}, api=True)


class Hr(Person):
    weight = 1
    role = "hr"

    @task(4)
    def team_dashboard(self):
        self.get("/dashboard/", "dashboard page: team", {"team": random.choice(CONFIG["teams"]), **period()})

    @task(2)
    def store_overview(self):
        self.get("/dashboard/stores/", "dashboard page: stores", period())

    @task(1)
    def member_list(self):
        self.get("/org/members/", "page: member list")


class ApiClient(Person):
    weight = 5
    role = "api"

    @task(2)
    def kpis_member(self):
        self.get("/api/kpis/", "API: kpis member/day", {"level": "member", "grain": "day", **api_window(30)}, api=True)

    @task(1)
    def kpis_team(self):
        self.get("/api/kpis/", "API: kpis team/week", {"level": "team", "grain": "week", **api_window(90)}, api=True)

    @task(1)
    def kpis_store(self):
        self.get(
            "/api/kpis/", "API: kpis store/month", {"level": "store", "grain": "month", **api_window(365)}, api=True
        )

    @task(3)
    def team_dashboard(self):
        params = {"team": random.choice(self.me["teams"]), **period()}
        self.get("/api/dashboards/team/", "dashboard API: team", params, api=True)

    @task(2)
    def member_dashboard(self):
        member = random.choice(self.me["members"])
        self.get(f"/api/dashboards/members/{member}/", "dashboard API: member", period(), api=True)

    @task(1)
    def store_overview(self):
        self.get("/api/dashboards/stores/", "dashboard API: stores", period(), api=True)

    @task(1)
    def members(self):
        self.get("/api/members/", "API: members list", {"page": random.randint(1, 2)}, api=True)

    @task(1)
    def teams(self):
        self.get("/api/teams/", "API: teams list", None, api=True)

    @task(1)
    def batches(self):
        self.get("/api/imports/batches/", "API: import batches list", None, api=True)


PEOPLE = (StoreManager, TeamLead, Staff, Hr, ApiClient)


def _skip(names: set[str]) -> None:
    """Leave the named tasks (Class.method) out of their class's mix; the others keep their weights
    (locust lists a task once per unit of weight)."""
    known = {f"{person.__name__}.{t.__name__}" for person in PEOPLE for t in person.tasks}
    if names - known:
        raise ValueError(f"LOAD_SKIP_TASKS: no such task {sorted(names - known)}; tasks: {sorted(known)}")
    for person in PEOPLE:
        kept = [t for t in person.tasks if f"{person.__name__}.{t.__name__}" not in names]
        if not kept:
            raise ValueError(f"LOAD_SKIP_TASKS leaves {person.__name__} nothing to do")
        person.tasks = kept


if os.environ.get("LOAD_SKIP_TASKS"):
    _skip({name.strip() for name in os.environ["LOAD_SKIP_TASKS"].split(",") if name.strip()})

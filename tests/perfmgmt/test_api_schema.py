"""The API's contract: the OpenAPI schema builds without a warning and validates, it has an operation
for every API route of the URLconf (a new endpoint without one fails here), every operation declares
its error answers, and the answers behind those declarations are the ones DRF really sends."""

import json
import re

import jsonschema
import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from metrics.models import Behaviour
from tests.factories import StoreFactory

# Routes under /api/ that are not API operations: the schema itself, its Swagger UI, DRF's browsable
# index of the routers, and the catch-all that answers a JSON 404 for any other address.
NOT_OPERATIONS = {"schema", "swagger_ui", "api-root", "api_not_found"}
# The one operation open to anonymous users (it hands out the tokens): no authentication runs on it,
# so it cannot answer 401 or 403.
OPEN = {("/api/auth/token/", "post")}
METHODS = ("get", "put", "patch", "post", "delete")


@pytest.fixture(scope="module")
def schema(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("schema") / "openapi.json"
    # Raises on any warning of the generator and on any error of the OpenAPI 3 validator.
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(path))
    return json.loads(path.read_text())


def _routes() -> dict[str, set[str]]:
    """OpenAPI path → HTTP methods, for every API route of the URLconf."""

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                yield route, pattern

    routes: dict[str, set[str]] = {}
    for route, pattern in walk(get_resolver().url_patterns, ""):
        route = route.replace("^", "").replace("$", "")
        if not route.startswith("api/") or pattern.name in NOT_OPERATIONS or "(?P<format>" in route:
            continue  # not the API, not an operation, or the router's ".json" duplicate of a route
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)|<(?:\w+:)?(\w+)>", lambda m: "{%s}" % (m[1] or m[2]), route)
        path = "/" + path.replace("{pk}", "{id}")  # drf-spectacular names the primary key "id"
        callback = pattern.callback
        if getattr(callback, "actions", None):  # a viewset route: method → action
            methods = set(callback.actions) & set(METHODS)  # without the implicit HEAD
        else:
            view = callback.view_class
            methods = {m for m in METHODS if hasattr(view, m)}
        routes.setdefault(path, set()).update(methods)
    return routes


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def _response(schema, response: dict) -> dict:
    """A response object, its $ref to components.responses followed."""
    if "$ref" in response:
        return schema["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response


def test_the_schema_builds_without_warnings_and_validates(schema):
    assert schema["openapi"].startswith("3.")
    assert len(list(_operations(schema))) >= 35


def test_every_api_route_has_its_operations_in_the_schema_and_nothing_else(schema):
    routes = _routes()
    documented = {path: set(item) for path, item in schema["paths"].items()}
    assert "/api/stores/{id}/" in routes and "/api/dashboards/members/{id}/" in routes  # the walk works
    missing = {path: methods - documented.get(path, set()) for path, methods in routes.items()}
    assert {path: methods for path, methods in missing.items() if methods} == {}
    stale = {path: methods - routes.get(path, set()) for path, methods in documented.items()}
    assert {path: methods for path, methods in stale.items() if methods} == {}


def test_every_operation_declares_its_error_answers(schema):
    for path, method, operation in _operations(schema):
        codes = set(operation["responses"])
        label = f"{method.upper()} {path}"
        if (path, method) in OPEN:
            assert operation["security"] == [{}], label
            assert {"400", "429"} <= codes and not codes & {"401", "403"}, label
        else:
            assert {"401", "403"} <= codes, label
        if "{" in path:
            assert "404" in codes, label
        if "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", [])):
            assert "400" in codes, label
        for code in (c for c in codes if c.startswith("4")):
            body = _response(schema, operation["responses"][code])["content"]["application/json"]["schema"]
            expected = "ValidationError" if code == "400" else "ErrorDetail"
            assert body == {"$ref": f"#/components/schemas/{expected}"}, (label, code)
    unauthenticated = schema["components"]["responses"]["Unauthenticated"]
    assert "WWW-Authenticate" in unauthenticated["headers"]
    throttled = schema["paths"]["/api/auth/token/"]["post"]["responses"]["429"]
    assert "Retry-After" in throttled["headers"]


def test_every_success_answer_describes_its_body(schema):
    for path, method, operation in _operations(schema):
        for code, response in operation["responses"].items():
            if code.startswith("2") and code != "204":
                body = response.get("content", {}).get("application/json", {}).get("schema", {})
                assert body.get("$ref") or body.get("type") in ("object", "array"), (method, path, code)


def _validate(schema, body, component: str) -> None:
    jsonschema.validate(body, {"$ref": f"#/components/schemas/{component}", "components": schema["components"]})


# --- the answers behind the declarations ------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_gets_401_with_the_token_scheme(schema, org):
    response = APIClient().get(reverse("store-list"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    _validate(schema, response.json(), "ErrorDetail")
    bad_token = APIClient().get(reverse("store-list"), HTTP_AUTHORIZATION="Token not-a-token")
    assert bad_token.status_code == 401


@pytest.mark.django_db
def test_validation_errors_are_objects_even_without_a_field(schema, org, api_for):
    api = api_for(org.users["admin"])
    # DRF's search filter raises a bare message list for a NUL character: it becomes non_field_errors.
    nul = api.get(reverse("member-list"), {"search": "a\x00b"})
    assert nul.status_code == 400 and list(nul.json()) == ["non_field_errors"]
    _validate(schema, nul.json(), "ValidationError")
    unparsable = api.post(reverse("target-list"), "{", content_type="application/json")
    assert unparsable.status_code == 400 and list(unparsable.json()) == ["detail"]
    _validate(schema, unparsable.json(), "ValidationError")
    nested = api.post(
        reverse("promotion-list"),
        {"store": org.s1.pk, "name": "x", "phases": {"peak": {"start": "2026-11-10", "end": "2026-11-01"}}},
        format="json",
    )
    assert nested.status_code == 400 and "end" in nested.json()["phases"]["peak"]
    _validate(schema, nested.json(), "ValidationError")


@pytest.mark.django_db
def test_unknown_api_addresses_answer_a_json_404(schema, org, api_for):
    api = api_for(org.users["admin"])
    for url in ("/api/stores/1.5/", "/api/targets/.exe/", "/api/stores/a%2Fb/", "/api/nothing/"):
        response = api.get(url)
        assert (response.status_code, response["Content-Type"]) == (404, "application/json"), url
        _validate(schema, response.json(), "ErrorDetail")
    # The catch-all authenticates first, like every API view; pages keep their HTML 404.
    assert APIClient().get("/api/nothing/").status_code == 401
    assert api.get("/org/nothing/")["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_the_api_root_lists_every_collection_and_each_link_answers(org, api_for):
    """One root for the whole API (each app's router has none of its own)."""
    api = api_for(org.users["admin"])
    links = api.get("/api/").json()
    assert {"stores", "teams", "members", "platform-accounts", "users", "role-grants", "imports/batches", "targets",
            "behaviour-records", "promotions", "pipeline/stuck-deals", "appraisal-templates", "statements",
            "plans"} == set(links)  # fmt: skip
    for name, url in links.items():
        assert url == f"http://testserver/api/{name}/"
        assert api.get(url).status_code == 200, name
    # The format twin links to the collections in the same format.
    assert api.get("/api/.json/").json() == {name: f"http://testserver/api/{name}.json" for name in links}


@pytest.mark.django_db
def test_id_filters_match_nothing_for_unseen_ids_and_refuse_non_ids(org, api_for):
    manager = api_for(org.users["manager_s2"])
    other = StoreFactory()
    for url in (reverse("team-list"), reverse("platform-account-list"), reverse("member-list")):
        # A store of someone else and a store that does not exist look the same: no rows.
        assert manager.get(url, {"store": org.s1.pk}).json()["results"] == [], url
        assert manager.get(url, {"store": other.pk + 1000}).json()["results"] == [], url
        assert manager.get(url, {"store": org.s2.pk}).json()["results"], url
        for bad in ("0.5", "-1", "9" * 30, "x"):  # 9…9 overflowed the database's integer: a 500
            assert manager.get(url, {"store": bad}).status_code == 400, (url, bad)
    assert manager.get(reverse("member-list"), {"active": "maybe"}).status_code == 400
    assert manager.get(reverse("platform-account-list"), {"assigned": "-1"}).status_code == 400
    assigned = manager.get(reverse("platform-account-list"), {"assigned": "false"}).json()["results"]
    assert [a["id"] for a in assigned] == [org.unassigned_s2.pk]


@pytest.mark.django_db
def test_list_queries_are_validated(org, api_for):
    api = api_for(org.users["admin"])
    for url, query in (
        (reverse("target-list"), {"team": "-3"}),
        (reverse("target-list"), {"store": "²"}),  # str.isdigit() said yes, int() raised: a 500
        (reverse("target-list"), {"active_on": "2026-13-01"}),
        (reverse("stuck-deal-list"), {"member": "²"}),
        (reverse("behaviour-record-list"), {"behaviour": "²"}),
        (reverse("behaviour-record-list"), {"start": "soon"}),
        (reverse("api_dashboard_stores"), {"store": "null"}),
        (reverse("api_dashboard_team"), {"preset": "someday"}),
        (reverse("api_dashboard_team"), {"kpi": "happiness"}),
        (reverse("api_dashboard_team"), {"preset": "custom", "start": "2026-01-01"}),
        (reverse("kpis"), {"end": "0001-01-05"}),  # 30 days before: a date before year 1, a 500
    ):
        response = api.get(url, query)
        assert response.status_code == 400, (url, query, response.content)
        assert set(response.json()) <= set(query) | {"non_field_errors"}, (url, query, response.json())
    # An empty value is "not given", as the schema's allowEmptyValue says.
    assert api.get(reverse("target-list"), {"team": "", "active_on": ""}).status_code == 200
    # A team the user does not oversee is not found, whether it exists or not.
    lead = api_for(org.users["lead_x"])
    assert lead.get(reverse("api_dashboard_team"), {"team": org.y.pk}).status_code == 404
    assert lead.get(reverse("api_dashboard_team"), {"team": org.x.pk}).status_code == 200


@pytest.mark.django_db
def test_write_bodies_with_odd_values_answer_400_not_500(org, api_for):
    api = api_for(org.users["admin"])
    decompose = {
        "store": org.s1.pk, "revenue": "100000", "returning_share": "0.3", "new_value_per_deal": "500",
        "lead_conversion": "0.1", "returning_order_value": "200",
    }  # fmt: skip
    # The last week of year 9999 has no Monday after it: the plan's weeks overflowed (a 500).
    late = api.post(reverse("api_target_decompose"), {**decompose, "start": "9999-12-01", "end": "9999-12-31"})
    assert late.status_code == 400 and "start" in late.json()
    shares = {**decompose, "start": "2026-11-01", "end": "2026-11-30", "split": "manual", "member_shares": {"²": "1"}}
    assert api.post(reverse("api_target_decompose"), shares, format="json").status_code == 400
    behaviour = Behaviour.objects.create(store=org.s1, name="回访")
    assign = reverse("platform-account-assign", args=[org.unassigned_s1.pk])
    assert api.post(assign, {"member": 10**30, "start_date": "2026-11-01"}, format="json").status_code == 400
    target = {"tier": "strategy", "name": "x", "behaviour": behaviour.pk, "store": org.s1.pk, "period_kind": "custom",
              "start": "0001-01-01", "end": "0001-01-31", "value": "1"}  # fmt: skip
    assert api.post(reverse("target-list"), target, format="json").status_code == 400

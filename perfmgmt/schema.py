"""The API's OpenAPI schema: drf-spectacular's AutoSchema plus the error responses DRF really sends.

drf-spectacular documents only the success responses (tfranzel/drf-spectacular#101). Every
operation here can also answer 401 and 403, operations with input 400, object routes and paginated
lists 404, and so on; this schema class adds those responses once, for every view, with named
components that describe DRF's bodies:

- `{"detail": "…"}` (`ErrorDetail`) for authentication, permission, not found, unsupported media
  type and throttling errors (`rest_framework.views.exception_handler`);
- `{"field": ["message", …], "non_field_errors": […]}` (`ValidationError`) for invalid input,
  nested objects for nested fields, and `{"detail": "…"}` for a body that does not parse.

Responses a view declares itself (`@extend_schema(responses={403: OpenApiResponse(description=…)})`)
keep their description and get the error body when they have none.

The rest of the contract lives here too: `exception_handler` makes every 400 body an object (as
`ValidationError` says), and `ApiNotFoundView` answers a JSON 404 for any other address under
/api/. tests/perfmgmt/test_api_schema.py and test_api_fuzz.py (schemathesis) hold it to this.
"""

from __future__ import annotations

from django.core.validators import ProhibitNullCharactersValidator
from django.utils.translation import gettext as _
from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.settings import api_settings
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

ERROR_DETAIL = "ErrorDetail"
# What DRF's CharField (ProhibitNullCharactersValidator) and the search filter accept: no NUL.
NO_NUL_PATTERN = "^[^\\u0000]*$"
# The same for a body field: one character at least, since for a field that may be blank
# drf-spectacular adds the empty string as a `oneOf` alternative, which must not match both.
NO_NUL_TEXT_PATTERN = "^[^\\u0000]+$"
VALIDATION_ERROR = "ValidationError"
FIELD_ERRORS = "FieldErrors"


def _schema_ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str) -> dict:
    return {"application/json": {"schema": _schema_ref(name)}}


_SCHEMAS = {
    ERROR_DETAIL: {
        "type": "object",
        "description": "An error that is not about one field: what went wrong, in the user's language.",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    VALIDATION_ERROR: {
        "type": "object",
        "description": (
            "Invalid input: each field in error with its messages; `non_field_errors` for the input "
            "as a whole; `detail` alone when the body could not be parsed at all."
        ),
        "properties": {
            "non_field_errors": {"type": "array", "items": {"type": "string"}},
            "detail": {"type": "string"},
        },
        "additionalProperties": _schema_ref(FIELD_ERRORS),
    },
    FIELD_ERRORS: {
        "description": (
            "The messages of one field: a list of messages, or for nested input an object keyed by "
            "the nested field's name, the list index or the dictionary key."
        ),
        "anyOf": [
            {"type": "array", "items": {"anyOf": [{"type": "string"}, _schema_ref(FIELD_ERRORS)]}},
            {"type": "object", "additionalProperties": _schema_ref(FIELD_ERRORS)},
        ],
    },
}

# Status code → (response component name, its definition).
_RESPONSES = {
    "400": (
        "ValidationFailed",
        {"description": "The input is invalid (see the messages per field).", "content": _json(VALIDATION_ERROR)},
    ),
    "401": (
        "Unauthenticated",
        {
            "description": "No valid credentials: send `Authorization: Token …` or sign in (session).",
            "headers": {
                "WWW-Authenticate": {
                    "description": "The authentication scheme to use (`Token`).",
                    "schema": {"type": "string"},
                }
            },
            "content": _json(ERROR_DETAIL),
        },
    ),
    "403": (
        "PermissionDenied",
        {
            "description": "The user's role may not do this (or a signed-in session sent no CSRF token).",
            "content": _json(ERROR_DETAIL),
        },
    ),
    "404": (
        "NotFound",
        {
            "description": "No such object among those the user may see, or no such page of the list.",
            "content": _json(ERROR_DETAIL),
        },
    ),
    "415": (
        "UnsupportedMediaType",
        {"description": "The request body's content type is not accepted here.", "content": _json(ERROR_DETAIL)},
    ),
    "429": (
        "Throttled",
        {
            "description": "Too many requests: wait before trying again.",
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait before the next attempt.",
                    "schema": {"type": "integer"},
                }
            },
            "content": _json(ERROR_DETAIL),
        },
    ),
}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema with the error responses every operation can give."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:  # excluded from the schema
            return None
        for name, schema in _SCHEMAS.items():
            registry.register_on_missing(
                ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name)
            )
        responses = operation["responses"]
        for code in self._error_codes(operation):
            if code not in responses:
                name, response = _RESPONSES[code]
                registry.register_on_missing(
                    ResolvedComponent(name=name, type=ResolvedComponent.RESPONSE, schema=response, object=name)
                )
                responses[code] = {"$ref": f"#/components/responses/{name}"}
        for code, response in responses.items():
            # An error the view declares with its own description only: give it DRF's body.
            if code.isdigit() and int(code) >= 400 and "$ref" not in response:
                default = _RESPONSES.get(code, (None, {"content": _json(ERROR_DETAIL)}))[1]
                for part in ("headers", "content"):
                    if part in default and part not in response:
                        response[part] = default[part]
        operation["responses"] = dict(sorted(responses.items()))
        _query_parameters_describe(operation)
        return operation

    def _error_codes(self, operation: dict) -> list[str]:
        """The error statuses this operation can answer, as DRF's views and mixins raise them."""
        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation
        codes = []
        if has_body or any(p["in"] == "query" for p in parameters):
            codes.append("400")  # serializer, filter or query validation; unparseable body
        if self.view.get_authenticators():
            # A missing or unknown token answers 401; any authenticator may refuse (CSRF: 403).
            codes += ["401", "403"]
        elif any(not isinstance(p, AllowAny) for p in self.view.get_permissions()):
            codes.append("403")
        # Objects outside the user's scope answer 404, as do pages past the end of a list.
        if any(p["in"] == "path" for p in parameters) or any(p["name"] == "page" for p in parameters):
            codes.append("404")
        if has_body:
            codes.append("415")
        if self.view.get_throttles():
            codes.append("429")
        return codes

    def _get_request_for_media_type(self, serializer, direction="request"):
        # drf-spectacular describes a PATCH body as partial (nothing required), as DRF's
        # UpdateModelMixin validates it. A view that validates it whole instead (a manual line's
        # change, whose change_reason is required) says so with `validated_whole_on_patch`.
        if self.method == "PATCH" and getattr(serializer, "validated_whole_on_patch", False):
            self.method = "POST"
            try:
                return super()._get_request_for_media_type(serializer, direction)
            finally:
                self.method = "PATCH"
        return super()._get_request_for_media_type(serializer, direction)

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        # A field that accepts only the text its pattern matches says so (e.g. the API's days:
        # teams.api.filters.DayField). Input only: a stored value may come from an imported file.
        if direction == "request" and schema.get("type") == "string" and getattr(field, "input_pattern", None):
            schema["pattern"] = field.input_pattern
        if direction == "request" and isinstance(field, serializers.DecimalField) and schema.get("type") == "string":
            schema["pattern"] = _decimal_pattern(field)
        # Input text with a NUL character is refused (400); say so, so that it is not valid input.
        # Not in responses: stored text comes from imported files as well.
        if (
            direction == "request"
            and schema.get("type") == "string"
            and "pattern" not in schema
            and any(isinstance(v, ProhibitNullCharactersValidator) for v in field.validators)
        ):
            schema["pattern"] = NO_NUL_TEXT_PATTERN
        return schema


def _decimal_pattern(field: serializers.DecimalField) -> str:
    """The text a DecimalField accepts, for input: drf-spectacular's pattern also matches "", "-"
    and "." (answered 400). At least one digit; leading zeros are free (DRF counts the digits of the
    number); at most max_digits − decimal_places whole digits and decimal_places after the point
    (trailing zeros count); a minus sign only before zero when min_value is 0 or more; a fraction
    from 0 to 1 when those are the bounds. Other bounds stay in the field's description: a pattern
    for "at most 12.5" is not worth reading. (Exponents such as "1e3" are accepted but not stated.)"""
    places = field.decimal_places or 0
    whole = field.max_whole_digits
    point = f"\\.[0-9]{{0,{places}}}" if places else "\\."
    only_fraction = f"\\.[0-9]{{1,{places}}}" if places else None
    if field.min_value == 0 and field.max_value == 1:
        body = f"0(?:{point})?|1(?:\\.0{{0,{places}}})?" + (f"|{only_fraction}" if only_fraction else "")
    elif whole == 0:
        body = only_fraction
    else:
        digits = "[0-9]+" if whole is None else f"[0-9]{{1,{whole}}}"
        body = f"{digits}(?:{point})?" + (f"|{only_fraction}" if only_fraction else "")
    if field.min_value is not None and field.min_value >= 0:
        zero = f"0(?:\\.0{{0,{places}}})?" + (f"|\\.0{{1,{places}}}" if places else "")
        return f"^(?:0*(?:{body})|-0*(?:{zero}))$"
    return f"^-?0*(?:{body})$"


def _query_parameters_describe(operation: dict) -> None:
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "query":
            continue
        if not parameter.get("required"):
            # DRF serializers, django-filter and the pagination read `?name=` as "not given", as an
            # HTML form's empty field.
            parameter["allowEmptyValue"] = True
        if parameter["name"] == api_settings.SEARCH_PARAM:
            parameter["schema"].setdefault("pattern", NO_NUL_PATTERN)


def exception_handler(exc, context):
    """DRF's handler, with every validation error an object as the schema's ValidationError says:
    a message list raised without a field name (`ValidationError("…")`, the search filter's NUL
    check) goes under `non_field_errors`."""
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, ValidationError) and isinstance(response.data, list):
        response.data = {api_settings.NON_FIELD_ERRORS_KEY: response.data}
    return response


@extend_schema(exclude=True)
class ApiNotFoundView(APIView):
    """Any other path under /api/ ending in a slash: DRF's JSON 404 (after authentication, as every
    API view) instead of the site's HTML page, e.g. /api/targets/1.5/ or an id with a slash in it."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        raise NotFound(_("No API operation at this address."))

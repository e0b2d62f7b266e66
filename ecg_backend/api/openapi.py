"""The OpenAPI 3 document served at ``/api/openapi.json``.

The document is a module-level dict. Modules that add API routes describe them with
``add_paths({"/api/v1/things": {"get": {...}}})`` (and ``add_schemas({...})``) at import time;
``components.responses`` holds the shared errors (``BadRequest``, ``Unauthorized``, ``NotFound``,
``PayloadTooLarge``, ``UnsupportedMediaType``, ``Unprocessable``, ``TooManyRequests``, ``Unavailable``)
to reference as ``{"$ref": "#/components/responses/NotFound"}``.
"""

from __future__ import annotations

import copy


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _err(name: str) -> dict:
    return {"$ref": f"#/components/responses/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _page_of(name: str) -> dict:
    return {
        "type": "object",
        "required": ["items", "total", "page", "per_page"],
        "properties": {
            "items": {"type": "array", "items": _ref(name)},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
        },
    }


AUTH_ERRORS = {"401": _err("Unauthorized"), "429": _err("TooManyRequests"), "503": _err("Unavailable")}
ID_PARAM = {"in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
PAGE_PARAMS = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
]
_STR = {"type": "string"}
IDEMPOTENCY_KEY_PARAM = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]([ -~]*[!-~])?$"},
    "description": "A key of your choice (a new UUID per logical request) that makes a storing request "
    "safe to retry. The first analysis stored with this key is kept; sending the same key "
    "and the same request again (same beats, patient_id, store and file name) answers that "
    "stored analysis again (same `analysis_id`, header `Idempotent-Replayed: true`) and stores "
    "nothing new, also when two such requests arrive at once. The same key with a different "
    "request is a 422 (`idempotency_key_reused`). Keys are per account, kept as long as the "
    "analysis; a request that stores nothing keeps no key. 1-255 printable ASCII "
    "characters, else 400.",
}
_NULLABLE_STR = {"type": ["string", "null"]}

SPEC: dict = {
    "openapi": "3.1.0",
    "info": {
        "title": "ECG anomaly detection API",
        "version": "1.0.0",
        "description": "Beat-by-beat anomaly scores from a CNN+LSTM autoencoder. Authenticate with "
        "`Authorization: Bearer <token>` or a browser session (session requests that "
        "change state send `X-CSRFToken`). Every error answers "
        '`{"error": {"code", "message", "details"}}`.',
    },
    "security": [{"bearerAuth": []}, {"sessionCookie": []}],
    "paths": {},
    "components": {
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer"},
            "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session"},
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code", "message", "details"],
                        "properties": {"code": _STR, "message": _STR, "details": {}},
                    }
                },
            },
            "BeatResult": {
                "type": "object",
                "required": [
                    "index",
                    "score",
                    "threshold",
                    "is_anomaly",
                    "confidence",
                    "reconstruction",
                    "sample_error",
                ],
                "properties": {
                    "index": {"type": "integer"},
                    "score": {"type": "number"},
                    "threshold": {"type": "number"},
                    "is_anomaly": {"type": "boolean"},
                    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                    "reconstruction": {"type": "array", "items": {"type": "number"}},
                    "sample_error": {"type": "array", "items": {"type": "number"}},
                },
            },
            "Summary": {
                "type": "object",
                "properties": {
                    "n_beats": {"type": "integer"},
                    "n_anomalous": {"type": "integer"},
                    "anomaly_fraction": {"type": "number"},
                    "max_score": {"type": "number"},
                    "threshold": {"type": "number"},
                },
            },
            "PredictResponse": {
                "type": "object",
                "required": ["beats", "summary", "model_version"],
                "properties": {
                    "beats": {"type": "array", "items": _ref("BeatResult")},
                    "summary": _ref("Summary"),
                    "model_version": _STR,
                    "analysis_id": {"type": "integer"},
                },
            },
            "PredictJSON": {
                "type": "object",
                "description": "either beats or beat",
                "properties": {
                    "beats": {
                        "type": "array",
                        "items": {"type": "array", "items": {"type": "number"}, "minItems": 140, "maxItems": 140},
                    },
                    "beat": {"type": "array", "items": {"type": "number"}, "minItems": 140, "maxItems": 140},
                    "patient_id": {"type": "integer"},
                    "store": {"type": "boolean"},
                },
            },
            "PatientInput": {
                "type": "object",
                "properties": {
                    "name": _STR,
                    "date_of_birth": {"type": ["string", "null"], "format": "date"},
                    "sex": {"enum": ["female", "male", "other", "unknown", None]},
                    "external_id": _NULLABLE_STR,
                    "notes": _STR,
                },
            },
            "Patient": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "name": _STR,
                    "date_of_birth": {"type": ["string", "null"]},
                    "sex": _NULLABLE_STR,
                    "external_id": _NULLABLE_STR,
                    "notes": _STR,
                    "created_at": _STR,
                    "updated_at": _STR,
                },
            },
            "Analysis": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "patient_id": {"type": ["integer", "null"]},
                    "kind": {"enum": ["beats", "recording"]},
                    "source": _STR,
                    "filename": _NULLABLE_STR,
                    "created_at": _STR,
                    "n_beats": {"type": "integer"},
                    "n_anomalous": {"type": "integer"},
                    "threshold": {
                        "type": ["number", "null"],
                        "description": "the detector's threshold (beat analyses)",
                    },
                    "operating_point": {
                        "type": ["number", "null"],
                        "description": "the context-score cut of a recording analysis",
                    },
                    "model_version": _NULLABLE_STR,
                    "summary": {"type": ["object", "null"]},
                    "input": {"type": ["object", "null"], "description": "only on GET one"},
                    "result": {"type": ["object", "null"], "description": "only on GET one"},
                },
            },
            "User": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "email": _STR,
                    "name": _STR,
                    "role": {"enum": ["admin", "clinician"]},
                    "is_active": {"type": "boolean"},
                    "created_at": _STR,
                },
            },
            "Token": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "name": _STR,
                    "prefix": _STR,
                    "created_at": _STR,
                    "last_used_at": _NULLABLE_STR,
                    "revoked_at": _NULLABLE_STR,
                    "active": {"type": "boolean"},
                    "token": {"type": "string", "description": "only in the POST answer; shown once"},
                },
            },
        },
        "responses": {
            name: _json(_ref("Error"), text)
            for name, text in {
                "BadRequest": "400: malformed request (bad JSON, bad query parameter, CSRF token missing)",
                "Unauthorized": "401: no or invalid credentials",
                "Forbidden": "403: needs an admin account",
                "NotFound": "404: no such record among yours",
                "Conflict": "409: conflicts with an existing record",
                "PayloadTooLarge": "413: body over MAX_CONTENT_LENGTH or more beats than allowed",
                "UnsupportedMediaType": "415: wrong content type",
                "Unprocessable": "422: well-formed but wrong content; the message says what to fix",
                "TooManyRequests": "429: rate limited",
                "Unavailable": "503: database or model unavailable",
            }.items()
        },
    },
}


def add_paths(paths: dict) -> None:
    """Add (or extend) path items; methods already present for a path are replaced."""
    for path, item in paths.items():
        SPEC["paths"].setdefault(path, {}).update(item)


def add_schemas(schemas: dict) -> None:
    """Add component schemas, referenced as ``#/components/schemas/<name>``."""
    SPEC["components"]["schemas"].update(schemas)


def document(server_url: str | None = None) -> dict:
    """A copy of the document, with ``servers`` set to the URL the client used."""
    doc = copy.deepcopy(SPEC)
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc


def _op(
    summary: str,
    responses: dict,
    *,
    body: dict | None = None,
    params: list | None = None,
    tag: str,
    public: bool = False,
) -> dict:
    operation = {"summary": summary, "tags": [tag], "responses": {**responses, **({} if public else AUTH_ERRORS)}}
    if body:
        operation["requestBody"] = body
    if params:
        operation["parameters"] = params
    if public:
        operation["security"] = []
    return operation


def _json_body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_ID = lambda name: [{"name": name, **ID_PARAM}]  # noqa: E731
_WRITE_ERRORS = {"400": _err("BadRequest"), "415": _err("UnsupportedMediaType"), "422": _err("Unprocessable")}

add_paths(
    {
        "/healthz": {
            "get": _op(
                "Liveness and readiness (database reachable, model loaded)",
                {"200": _json({"type": "object"}, "ready"), "503": _err("Unavailable")},
                tag="service",
                public=True,
            )
        },
        "/api/openapi.json": {
            "get": _op(
                "This document", {"200": _json({"type": "object"}, "OpenAPI 3 document")}, tag="service", public=True
            )
        },
        "/login": {
            "post": _op(
                "Log in (form or JSON); JSON answers the user and a CSRF token for session use",
                {
                    "200": _json({"type": "object"}, "logged in"),
                    "400": _err("BadRequest"),
                    "401": _err("Unauthorized"),
                    "429": _err("TooManyRequests"),
                },
                body=_json_body(
                    {
                        "type": "object",
                        "required": ["email", "password"],
                        "properties": {"email": _STR, "password": _STR},
                    }
                ),
                tag="auth",
                public=True,
            )
        },
        "/logout": {"post": _op("Log out", {"302": {"description": "to /login"}}, tag="auth", public=True)},
        "/predict": {
            "post": _op(
                "Score beats: JSON, a CSV upload (field 'file') or a text/csv body",
                {
                    "200": {
                        **_json(_ref("PredictResponse"), "per-beat results"),
                        "headers": {
                            "Idempotent-Replayed": {
                                "description": "`true` when the answer is the stored one of an earlier request with the same "
                                "Idempotency-Key",
                                "schema": {"type": "string", "enum": ["true"]},
                            }
                        },
                    },
                    **_WRITE_ERRORS,
                    "404": _err("NotFound"),
                    "413": _err("PayloadTooLarge"),
                },
                tag="predict",
                params=[IDEMPOTENCY_KEY_PARAM],
                body={
                    "required": True,
                    "content": {
                        "application/json": {"schema": _ref("PredictJSON")},
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {
                                    "file": {"type": "string", "format": "binary"},
                                    "patient_id": {"type": "integer"},
                                    "store": {"type": "boolean"},
                                },
                            }
                        },
                        "text/csv": {"schema": _STR},
                    },
                },
            )
        },
        "/api/v1/me": {"get": _op("The current user", {"200": _json(_ref("User"), "user")}, tag="account")},
        "/api/v1/tokens": {
            "get": _op("Your API tokens", {"200": _json(_page_of("Token"), "tokens")}, tag="account"),
            "post": _op(
                "Create a token (the plaintext is returned once)",
                {"201": _json(_ref("Token"), "created"), **_WRITE_ERRORS},
                body={"content": {"application/json": {"schema": {"type": "object", "properties": {"name": _STR}}}}},
                tag="account",
            ),
        },
        "/api/v1/tokens/{token_id}": {
            "delete": _op(
                "Revoke a token",
                {"204": {"description": "revoked"}, "404": _err("NotFound")},
                params=_ID("token_id"),
                tag="account",
            )
        },
        "/api/v1/users": {
            "get": _op(
                "All accounts (admin)", {"200": _json(_page_of("User"), "users"), "403": _err("Forbidden")}, tag="admin"
            ),
            "post": _op(
                "Create an account (admin)",
                {
                    "201": _json(_ref("User"), "created"),
                    "403": _err("Forbidden"),
                    "409": _err("Conflict"),
                    **_WRITE_ERRORS,
                },
                body=_json_body(
                    {
                        "type": "object",
                        "required": ["email", "password"],
                        "properties": {
                            "email": _STR,
                            "password": _STR,
                            "name": _STR,
                            "role": {"enum": ["admin", "clinician"]},
                        },
                    }
                ),
                tag="admin",
            ),
        },
        "/api/v1/users/{user_id}": {
            "patch": _op(
                "Disable/enable an account or reset its password (admin)",
                {
                    "200": _json(
                        {
                            "allOf": [
                                _ref("User"),
                                {
                                    "type": "object",
                                    "properties": {
                                        "password_reset": {
                                            "type": "object",
                                            "description": "present after a password reset: the account's other sessions "
                                            "are signed out and its API tokens revoked",
                                            "properties": {
                                                "other_sessions_signed_out": {"type": "boolean"},
                                                "this_session_kept": {"type": "boolean"},
                                                "api_tokens_revoked": {"type": "integer"},
                                                "message": _STR,
                                            },
                                        }
                                    },
                                },
                            ]
                        },
                        "updated",
                    ),
                    "403": _err("Forbidden"),
                    "404": _err("NotFound"),
                    "409": _err("Conflict"),
                    **_WRITE_ERRORS,
                },
                body=_json_body({"type": "object", "properties": {"is_active": {"type": "boolean"}, "password": _STR}}),
                params=_ID("user_id"),
                tag="admin",
            )
        },
        "/api/v1/patients": {
            "get": _op(
                "Your patients (search by name or external id with q)",
                {"200": _json(_page_of("Patient"), "one page"), "400": _err("BadRequest")},
                params=[{"name": "q", "in": "query", "schema": _STR}, *PAGE_PARAMS],
                tag="patients",
            ),
            "post": _op(
                "Create a patient",
                {"201": _json(_ref("Patient"), "created"), **_WRITE_ERRORS},
                body=_json_body(_ref("PatientInput")),
                tag="patients",
            ),
        },
        "/api/v1/patients/{patient_id}": {
            "get": _op(
                "One patient",
                {"200": _json(_ref("Patient"), "patient"), "404": _err("NotFound")},
                params=_ID("patient_id"),
                tag="patients",
            ),
            "patch": _op(
                "Change some fields",
                {"200": _json(_ref("Patient"), "updated"), "404": _err("NotFound"), **_WRITE_ERRORS},
                body=_json_body(_ref("PatientInput")),
                params=_ID("patient_id"),
                tag="patients",
            ),
            "delete": _op(
                "Delete a patient and their analyses",
                {"204": {"description": "deleted"}, "404": _err("NotFound")},
                params=_ID("patient_id"),
                tag="patients",
            ),
        },
        "/api/v1/analyses": {
            "get": _op(
                "Your analyses, newest first",
                {"200": _json(_page_of("Analysis"), "one page"), "400": _err("BadRequest"), "404": _err("NotFound")},
                params=[
                    {"name": "patient_id", "in": "query", "schema": {"type": "integer"}},
                    {"name": "kind", "in": "query", "schema": {"enum": ["beats", "recording"]}},
                    *PAGE_PARAMS,
                ],
                tag="analyses",
            )
        },
        "/api/v1/analyses/{analysis_id}": {
            "get": _op(
                "One analysis with its input and per-beat result",
                {"200": _json(_ref("Analysis"), "analysis"), "404": _err("NotFound")},
                params=_ID("analysis_id"),
                tag="analyses",
            ),
            "delete": _op(
                "Delete an analysis",
                {"204": {"description": "deleted"}, "404": _err("NotFound")},
                params=_ID("analysis_id"),
                tag="analyses",
            ),
        },
    }
)

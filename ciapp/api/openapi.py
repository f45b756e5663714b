"""The OpenAPI description of the JSON API, served at /api/v1/openapi.json.

A test checks it against the URL configuration and against real responses,
so it stays true.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse

from ciapp.search import MAX_JOB_NUMBER, MAX_QUERY_LENGTH
from ciapp.statuses import CalculatedStatus, JobStatus, RunnerStatus, StepStatus


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(description: str, **properties: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["status", *properties],
                    "properties": {
                        "status": {"const": "ok"},
                        **properties,
                    },
                }
            }
        },
    }


def _errors(*codes: int) -> dict[str, Any]:
    meaning = {
        400: "Bad input; the error says what was wrong.",
        401: "No token, or a token that is not valid.",
        404: "No such repository, run or runner.",
        405: "Wrong method; the Allow header says the right ones.",
        409: "The runner is not in a state that allows this.",
        413: "The body, or a field, is too large.",
        415: "The body is neither JSON nor a form.",
        429: "The token made too many calls this minute; Retry-After says "
        "how long to wait.",
    }
    answers: dict[str, Any] = {
        str(code): {
            "description": meaning[code],
            "content": {"application/json": {"schema": _ref("Error")}},
        }
        for code in (*codes, 401, 405, 429)
    }
    # Answered by gunicorn before the service sees the request, as HTML.
    answers["414"] = {
        "description": "The request line is longer than the web server takes "
        "(4094 bytes with gunicorn's defaults).",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
    return answers


REPO = {
    "name": "repo",
    "in": "path",
    "required": True,
    "description": "The repository's name (normalised: `My.App` is `my-app`).",
    "schema": {"type": "string", "minLength": 1},
}
NUMBER = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "The run's number within its repository.",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_JOB_NUMBER},
}
JOB_UUID = {
    "name": "job_uuid",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
}
RUNNER_ID = {
    "name": "runner_id",
    "in": "path",
    "required": True,
    "description": "The runner's id, as the runners endpoint shows it.",
    "schema": {"type": "string", "minLength": 1},
}
SEARCH = {
    "name": "search",
    "in": "query",
    "required": False,
    "description": "A query in the search language (docs/search.md).",
    "schema": {"type": "string", "maxLength": MAX_QUERY_LENGTH},
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["status", "error"],
        "properties": {
            "status": {"const": "error"},
            "error": {"type": "string"},
        },
    },
    "Job": {
        "type": "object",
        "required": [
            "repository_name",
            "id",
            "uuid",
            "status",
            "status_change_time",
            "calculated_status",
            "commit_sha",
            "branch",
            "merge_branch",
            "run_start_reason",
            "run_start_reason_url",
        ],
        "properties": {
            "repository_name": {"type": "string"},
            "id": {"type": "integer", "minimum": 1},
            "uuid": {"type": "string", "format": "uuid"},
            "status": {"enum": list(JobStatus.values)},
            "status_change_time": {
                "type": "string",
                "description": "As Go prints a UTC time: "
                "`2020-05-05 05:11:44.17955 +0000 UTC`.",
                "pattern": r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})? "
                r"\+0000 UTC$",
            },
            "calculated_status": {"enum": list(CalculatedStatus.values)},
            "commit_sha": {"type": "string"},
            "branch": {"type": "string"},
            "merge_branch": {"type": "string"},
            "run_start_reason": {"type": "string"},
            "run_start_reason_url": {"type": "string"},
        },
    },
    "Runner": {
        "type": "object",
        "required": [
            "id",
            "layerfile_relative_path",
            "status",
            "was_retried",
            "runner_index",
        ],
        "properties": {
            "id": {"type": "string"},
            "layerfile_relative_path": {"type": "string"},
            "status": {"enum": list(RunnerStatus.values)},
            "was_retried": {"type": "boolean"},
            "runner_index": {"type": "integer", "minimum": 1},
        },
    },
    "Step": {
        "type": "object",
        "required": [
            "position",
            "line",
            "instruction",
            "status",
            "exit_code",
            "started_at",
            "finished_at",
            "waiting_for_button",
            "log",
        ],
        "properties": {
            "position": {"type": "integer"},
            "line": {"type": "integer"},
            "instruction": {"type": "string"},
            "status": {"enum": list(StepStatus.values)},
            "exit_code": {"type": ["integer", "null"]},
            "started_at": {"type": ["string", "null"]},
            "finished_at": {"type": ["string", "null"]},
            "waiting_for_button": {"type": "boolean"},
            "log": {"type": "string"},
        },
    },
    "NewJob": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "branch": {"type": "string", "default": "master", "maxLength": 255},
            "ref": {
                "type": "string",
                "description": "A commit, tag, branch or `origin/<branch>`; "
                "default `origin/<branch>`.",
                "maxLength": 255,
            },
            "accept_buttons": {
                "oneOf": [
                    {"type": "boolean"},
                    {"enum": ["true", "false", "1", "0", "yes", "no", ""]},
                ]
            },
            "extra": {"type": "string", "description": "Exposed as API_EXTRA."},
        },
    },
}


def description() -> dict[str, Any]:
    job = {"job": _ref("Job")}
    runner = {"runner": _ref("Runner")}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "CI server API",
            "version": "1",
            "description": "webapp.io's documented API, and the same conventions "
            "for what the dashboard can do.",
        },
        "security": [{"token": []}, {"bearer": []}],
        "components": {
            "securitySchemes": {
                "token": {"type": "apiKey", "in": "query", "name": "token"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
            "schemas": SCHEMAS,
        },
        "paths": {
            "/api/v1/run/{repo}/search": {
                "get": {
                    "summary": "The most recent run matching a search",
                    "parameters": [REPO, SEARCH],
                    "responses": {"200": _ok("The run.", **job), **_errors(400, 404)},
                }
            },
            "/api/v1/run/{repo}": {
                "get": {
                    "summary": "Runs, newest first",
                    "parameters": [
                        REPO,
                        SEARCH,
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 200},
                        },
                        {
                            "name": "before",
                            "in": "query",
                            "schema": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": MAX_JOB_NUMBER,
                            },
                        },
                    ],
                    "responses": {
                        "200": _ok(
                            "A page of runs.",
                            jobs={"type": "array", "items": _ref("Job")},
                            next_before={"type": ["integer", "null"]},
                        ),
                        **_errors(400, 404),
                    },
                },
                "post": {
                    "summary": "Start a run",
                    "parameters": [REPO],
                    "requestBody": {
                        "required": False,
                        "content": {
                            "application/json": {"schema": _ref("NewJob")},
                            "application/x-www-form-urlencoded": {
                                "schema": _ref("NewJob")
                            },
                        },
                    },
                    "responses": {
                        "200": _ok(
                            "The new run.",
                            **job,
                            url={"type": "string", "format": "uri"},
                        ),
                        **_errors(400, 404, 413, 415),
                    },
                },
            },
            "/api/v1/run/{repo}/{id}": {
                "get": {
                    "summary": "One run and its runners",
                    "parameters": [REPO, NUMBER],
                    "responses": {
                        "200": _ok(
                            "The run.",
                            **job,
                            runners={"type": "array", "items": _ref("Runner")},
                            error={"type": "string"},
                        ),
                        **_errors(404),
                    },
                }
            },
            "/api/v1/run/{repo}/{id}/cancel": {
                "post": {
                    "summary": "Cancel a run's unfinished runners",
                    "parameters": [REPO, NUMBER],
                    "responses": {
                        "200": _ok(
                            "The run.",
                            **job,
                            cancelled_runners={"type": "integer"},
                        ),
                        **_errors(404),
                    },
                }
            },
            "/api/v1/runners/{repo}/{job_uuid}": {
                "get": {
                    "summary": "The runners of a run",
                    "parameters": [REPO, JOB_UUID],
                    "responses": {
                        "200": _ok(
                            "The runners.",
                            runners={"type": "array", "items": _ref("Runner")},
                        ),
                        **_errors(400, 404),
                    },
                }
            },
            "/api/v1/runners/{repo}/{job_uuid}/{runner_id}": {
                "get": {
                    "summary": "One runner with its steps and logs",
                    "parameters": [REPO, JOB_UUID, RUNNER_ID],
                    "responses": {
                        "200": _ok(
                            "The runner.",
                            runner=_ref("Runner"),
                            steps={"type": "array", "items": _ref("Step")},
                        ),
                        **_errors(400, 404),
                    },
                }
            },
            **{
                f"/api/v1/runners/{{repo}}/{{job_uuid}}/{{runner_id}}/{action}": {
                    "post": {
                        "summary": summary,
                        "parameters": [REPO, JOB_UUID, RUNNER_ID],
                        "responses": {
                            "200": _ok(answer, **runner),
                            **_errors(400, 404, 409),
                        },
                    }
                }
                for action, summary, answer in [
                    ("retry", "Retry a finished runner", "The new runner."),
                    ("cancel", "Cancel a runner", "The runner."),
                    ("button", "Press the runner's waiting BUTTON", "The runner."),
                ]
            },
        },
    }


def openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(description())

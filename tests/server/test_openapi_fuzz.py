"""Schemathesis over the OpenAPI schema: every operation, every check, on both databases.

The run is what ``schemathesis run`` does (examples, coverage and fuzzing phases, all
checks), sent in process to the ASGI app with a site admin's token over a project that
has items. The coverage phase tries each parameter's edge values (NUL characters, 2**31,
2**63, empty and overlong strings, wrong types); fuzzing adds a bounded number of random
requests per operation. Any server error, response outside its declared schema, status
code the route does not declare, or invalid data accepted fails the test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

from labelwise.server.app import create_app
from labelwise.settings import Settings
from tests.server.conftest import Factory
from tests.service.word_embedder import fake_minilm

#: Random requests per operation in the fuzzing phase (about 40 operations; the whole
#: run stays near a minute per database on two cores).
MAX_EXAMPLES = 5

#: Statuses a schema-valid request may get: the schema cannot know which ids exist (404),
#: which names are taken (409), whose password is right (401) or how many log-ins failed (429).
VALID_DATA_STATUSES = ["2xx", "401", "403", "404", "409", "429"]


@dataclass(frozen=True)
class Finding:
    operation: str
    check: str
    title: str
    status: int | None
    request: str

    def __str__(self) -> str:
        return f"{self.operation} [{self.check}] {self.title} -> {self.status}: {self.request}"


def fuzz(app: Any, headers: dict[str, str]) -> list[Finding]:
    """Every failed check of one schemathesis run, deduplicated by operation and check."""
    config = SchemathesisConfig.from_dict(
        {
            "seed": 20261201,
            "headers": headers,
            "generation": {"max-examples": MAX_EXAMPLES},
            # Stateful links would need response links declared; each operation stands alone.
            "phases": {"stateful": {"enabled": False}},
            "checks": {"positive_data_acceptance": {"expected-statuses": VALID_DATA_STATUSES}},
            "operations": [
                # Password rules (common passwords, the username as password) refuse
                # schema-valid bodies by design; every other check still runs here.
                {
                    "include-name": "POST /api/users",
                    "checks": {"positive_data_acceptance": {"enabled": False}},
                },
                # How many labels a project needs depends on its task (a single-label
                # project two, a spans project one): a rule across fields the schema
                # states in words only.
                {
                    "include-name": "POST /api/projects",
                    "checks": {"positive_data_acceptance": {"enabled": False}},
                },
                # A labeling function's label must be one of the project's (stored state),
                # a kind needs its own keys, and a regex must finish in time on the items:
                # refused as 422 naming the field, which no schema can state.
                *(
                    {
                        "include-name": name,
                        "checks": {"positive_data_acceptance": {"enabled": False}},
                    }
                    for name in (
                        "POST /api/projects/{project_id}/labeling-functions",
                        "POST /api/projects/{project_id}/labeling-functions/preview",
                        "PATCH /api/projects/{project_id}/labeling-functions/{function_id}",
                    )
                ),
            ],
        }
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    found: dict[tuple[str, str, str], Finding] = {}
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished) and event.status in (
            Status.FAILURE,
            Status.ERROR,
        ):
            recorder = event.recorder
            for case_id, checks in recorder.checks.items():
                interaction = recorder.interactions.get(case_id)
                request = "" if interaction is None else _describe(interaction)
                status = (
                    None
                    if interaction is None or interaction.response is None
                    else interaction.response.status_code
                )
                for check in checks:
                    if check.status is not Status.FAILURE:
                        continue
                    title = check.failure_info.failure.title if check.failure_info else ""
                    key = (recorder.label, check.name, title)
                    found.setdefault(
                        key, Finding(recorder.label, check.name, title, status, request)
                    )
        elif isinstance(event, events.NonFatalError):
            key = (event.label, "error", repr(event.value))
            found.setdefault(key, Finding(event.label, "error", repr(event.value), None, ""))
        elif isinstance(event, events.FatalError):
            raise event.exception
    return list(found.values())


def _describe(interaction: Any) -> str:
    request = interaction.request
    body = request.body
    if isinstance(body, bytes):
        body = body[:200]
    return f"{request.method} {request.uri[:200]} {body!r}"


@pytest.fixture
def admin_headers(factory: Factory) -> dict[str, str]:
    admin = factory.user("root", is_admin=True)
    project = factory.project(admin)
    factory.items(project, [{"text": f"item {i}"} for i in range(5)])
    return factory.headers(admin)


def test_every_operation_answers_within_its_schema(
    settings: Settings, admin_headers: dict[str, str]
) -> None:
    app = create_app(settings)
    # Similarity functions embed with a fake MiniLM (hashed words): loading the model and
    # encoding fuzzed exemplars would take longer than the whole run.
    app.state.sentence_vectors = fake_minilm(64)
    # The lifespan disposes of the app's engine: no connection is left to the collector.
    with TestClient(app):
        findings = fuzz(app, admin_headers)
    assert not findings, "\n".join(str(f) for f in findings)


def test_the_schema_states_the_input_rules(settings: Settings) -> None:
    # What the fuzzer reads: ids, offsets and strings say their bounds in the schema.
    with TestClient(create_app(settings)) as client:
        schema = client.get("/openapi.json").json()
    text = json.dumps(schema)
    assert '"maximum": 2147483647' in text and '"maximum": 9223372036854775807' in text
    login = schema["components"]["schemas"]["LoginIn"]["properties"]
    assert login["username"]["pattern"] == "^[^\\x00]*$"
    for responses in (op["responses"] for path in schema["paths"].values() for op in path.values()):
        assert {"400", "422", "503"} <= set(responses)

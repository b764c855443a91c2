"""Fuzzing the field API from its own OpenAPI spec: no input, however odd, gets a 5xx; every 4xx explains itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.openapi import from_asgi

from data.db import Database
from tests.integrations.test_field_api_world import FieldWorld, build_field_world

TOKEN: dict[str, str] = {}


@pytest.fixture
def fuzz_world(sqlite_db: Database) -> Iterator[FieldWorld]:
    world = build_field_world(sqlite_db)
    TOKEN["T1"] = world.tokens["T1"]
    yield world


@pytest.fixture
def field_schema(fuzz_world: FieldWorld) -> schemathesis.BaseSchema:
    # The coverage phase's exhaustive boundary cases take minutes; bounded random fuzzing keeps this < 60 s.
    config = schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": False}}})
    return from_asgi("/openapi.json", fuzz_world.client.app, config=config)


schema = schemathesis.pytest.from_fixture("field_schema")


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_input_makes_the_api_fail(case: schemathesis.Case) -> None:
    response = case.call(headers={"Authorization": f"Bearer {TOKEN['T1']}"})
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
    if 400 <= response.status_code < 500:
        error = response.json()["error"]
        assert error["code"] and error["message"], response.text

"""Field mappings from TOML: every rule kind, nested targets, and validation errors that name the key."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

from integrations.config import load_config, parse_config
from integrations.mapping import ConfigError, MappingError, apply_mapping, compile_mapping

EVENT: dict[str, Any] = {
    "seq": 42,
    "type": "job.completed",
    "subject_type": "job",
    "subject_id": "7",
    "payload": {
        "ref": "J00042",
        "resolution": "replaced the pump",
        "type": "install",
        "hours": "1.5",
        "lines": [{"sku": "FLT-01", "qty": 2}],
        "customer": {"name": "Kone Oy", "vat": None},
    },
}


def rules_from(toml: str, lookups: dict[str, dict[str, Any]] | None = None) -> Any:
    return compile_mapping(tomllib.loads(toml), lookups or {}, "integrations.toml: connectors.x.mapping.job")


def test_rename_const_template_lookup_default_and_nested_targets() -> None:
    rules = rules_from(
        """
        "Reference" = "payload.ref"
        "Status" = { const = "Closed" }
        "Summary" = { template = "Job {ref} closed: {resolution} ({payload.hours:.2f} h)" }
        "Line[0].ItemRef.value" = { lookup = "job_types", from = "payload.type" }
        "Line[0].Qty" = "payload.lines[0].qty"
        "Line[1].Description" = { const = "travel" }
        "properties.hs_pipeline" = { from = "payload.pipeline", default = "0" }
        "Customer" = "payload.customer.name"
        "Vat" = "payload.customer.vat"
        "Missing" = "payload.nothing"
        "Hours" = { from = "payload.hours", as = "float" }
        """,
        {"job_types": {"install": "ITEM-1"}},
    )
    assert apply_mapping(rules, EVENT) == {
        "Reference": "J00042",
        "Status": "Closed",
        "Summary": "Job J00042 closed: replaced the pump (1.50 h)",
        "Line": [{"ItemRef": {"value": "ITEM-1"}, "Qty": 2}, {"Description": "travel"}],
        "properties": {"hs_pipeline": "0"},
        "Customer": "Kone Oy",
        "Hours": 1.5,
    }


def test_a_custom_field_needs_only_the_mapping_and_inputs_are_untouched() -> None:
    base = {"name": "fixed"}
    rules = rules_from('"custom_region" = { const = "south" }')
    assert apply_mapping(rules, EVENT, base) == {"name": "fixed", "custom_region": "south"}
    assert base == {"name": "fixed"} and "custom_region" not in EVENT["payload"]


def test_data_problems_at_apply_time_name_the_rule() -> None:
    lookup = rules_from('"Item" = { lookup = "t", from = "payload.type" }', {"t": {"repair": "R"}})
    with pytest.raises(MappingError, match=r"mapping\.job\.Item: value 'install' is not in lookup 't'"):
        apply_mapping(lookup, EVENT)
    required = rules_from('"Vat" = { from = "payload.customer.vat", required = true }')
    with pytest.raises(MappingError, match=r"mapping\.job\.Vat: required"):
        apply_mapping(required, EVENT)
    cast = rules_from('"N" = { from = "payload.ref", as = "int" }')
    with pytest.raises(MappingError, match=r"cannot convert 'J00042' to int"):
        apply_mapping(cast, EVENT)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '"CustomerRef" = { lookup = "customers", from = "payload.c" }',
            "integrations.toml: connectors.x.mapping.job.CustomerRef: unknown lookup 'customers'",
        ),
        ('"A" = { template = "Job {0}" }', "mapping.job.A: bad template"),
        ('"A" = { template = "Job {ref" }', "mapping.job.A: bad template"),
        ('"A" = { const = 1, template = "x" }', "mapping.job.A: use one of const, template, lookup"),
        ('"A" = { form = "payload.x" }', "mapping.job.A: unknown rule key 'form'"),
        ('"A" = "payload..x"', "mapping.job.A: bad field path"),
        ('"Line[x]" = "payload.x"', "mapping.job.Line[x]: bad target path"),
        ('"A" = { from = "payload.x", as = "money" }', "mapping.job.A: unknown type 'money'"),
        ('"A" = 5', "mapping.job.A: expected a field path string"),
    ],
)
def test_validation_names_the_bad_key(toml: str, message: str) -> None:
    with pytest.raises(MappingError) as caught:
        rules_from(toml)
    assert message in str(caught.value)


def webhook(**extra: Any) -> dict[str, Any]:
    return {"connectors": {"qbo": {"type": "webhook", "url": "https://example.test/h", **extra}}}


def test_configuration_errors_name_file_and_key() -> None:
    with pytest.raises(MappingError, match=r"^integrations\.toml: connectors\.qbo\.mapping\.invoice\.CustomerRef: "):
        parse_config(webhook(mapping={"invoice": {"CustomerRef": {"lookup": "customers", "from": "payload.c"}}}))
    with pytest.raises(ConfigError, match=r"connectors\.qbo\.type: unknown connector type 'qbo2'"):
        parse_config({"connectors": {"qbo": {"type": "qbo2"}}})
    with pytest.raises(ConfigError, match=r"connectors\.qbo\.api_token: secrets are not written"):
        parse_config(webhook(api_token="abc"))
    with pytest.raises(ConfigError, match=r"connectors\.qbo\.events: 'delivery\.dead_lettered'"):
        parse_config(webhook(events=["delivery.dead_lettered"]))
    with pytest.raises(ConfigError, match=r"delivery\.max_attempts: must be at least 1"):
        parse_config({"delivery": {"max_attempts": 0}})
    with pytest.raises(ConfigError, match=r"delivery\.retries: unknown setting"):
        parse_config({"delivery": {"retries": 3}})
    config = parse_config(webhook(token_url="https://example.test/token", events=["job.completed"]))
    assert config.connector("qbo").setting("token_url") == "https://example.test/token"
    with pytest.raises(ConfigError, match=r"connectors\.nope: no such connector \(known: qbo\)"):
        config.connector("nope")


def test_config_file_found_by_flag_env_and_quoted_event_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "integrations.toml"
    path.write_text(
        """
[delivery]
max_attempts = 4

[connectors.hook]
type = "webhook"
url = "https://example.test/h"
events = ["job.completed"]

[connectors.hook.mapping."job.completed"]
ref = "payload.ref"
""",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.delivery.max_attempts == 4 and config.path == path
    assert apply_mapping(config.connector("hook").mapping("job.completed"), EVENT) == {"ref": "J00042"}
    assert not config.connector("hook").mapping("job.assigned")
    monkeypatch.setenv("DISPATCH_INTEGRATIONS_CONFIG", str(path))
    assert list(load_config().connectors) == ["hook"]
    monkeypatch.setenv("DISPATCH_INTEGRATIONS_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="not found"):
        load_config()
    path.write_text("[connectors.hook\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"integrations\.toml: not valid TOML"):
        load_config(path)


def test_credentials_resolve_from_env_or_a_private_file_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    creds = tmp_path / "hook.toml"
    creds.write_text('secret = "whsec_abc"\nclient_id = "id-1"\n', encoding="utf-8")
    os.chmod(creds, 0o644)
    config = parse_config(webhook(credentials_file=str(creds), client_secret_env="HOOK_CLIENT_SECRET"), path=None)
    hook = config.connector("qbo")
    with pytest.raises(ConfigError, match=r"readable by group or others \(mode 644\): chmod 600"):
        hook.credentials()
    os.chmod(creds, 0o600)
    with pytest.raises(
        ConfigError, match=r"connectors\.qbo\.client_secret_env: environment variable HOOK_CLIENT_SECRET"
    ):
        hook.credentials()
    monkeypatch.setenv("HOOK_CLIENT_SECRET", "s3")
    assert hook.credentials() == {"secret": "whsec_abc", "client_id": "id-1", "client_secret": "s3"}
    assert hook.secret() == "whsec_abc"

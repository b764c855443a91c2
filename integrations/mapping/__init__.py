"""Field mappings without code: TOML rules that turn an event into the body a remote system expects.

API for connectors:

    from integrations.mapping import MappingRules, MappingError, apply_mapping, compile_mapping

    body = apply_mapping(config.mapping("invoice"), source, base={"Line": [...]})

- `ConnectorConfig.mapping(name)` (integrations.config) returns the compiled `MappingRules` of
  `[connectors.NAME.mapping.<name>]` (an empty, falsy `MappingRules` when the table is absent).
  `name` is an event type (`"job.completed"`) or a target the connector defines (`"invoice"`).
- `apply_mapping(rules, source, base=None) -> dict` applies the rules in order to `source` (any
  JSON-like dict: the event as `EventRecord.as_dict()`, or a dict the connector builds) and returns a
  new dict (a copy of `base` with the mapped fields written over it). It never mutates its inputs.
- Rules (each TOML key is the target path, dotted or indexed: `"Line[0].Amount"`, `"properties.hs_x"`):
    `"target" = "payload.path"`                rename: copy a field (left out when absent)
    `"target" = { from = "payload.path", default = X, required = true, as = "decimal" }`
    `"target" = { const = "X" }`               constant
    `"target" = { template = "Job {payload.ref} closed: {resolution}" }`
          str.format style; a bare name is looked up in the source, then in source["payload"]
    `"target" = { lookup = "job_types", from = "payload.type", default = "ITEM-0" }`
          with `[connectors.NAME.lookups.job_types] install = "ITEM-1"`
  `as` converts to str, int, float, decimal (as exact text) or bool.
- Errors: `MappingError` (an `InvalidInput`, exit code 2) whose message starts with the dotted key,
  e.g. `connectors.qbo.mapping.invoice.CustomerRef: unknown lookup 'customers'`. Validation runs when
  the configuration loads; at apply time only data problems remain (a required field missing, a value
  not in its lookup table), and those dead-letter the delivery with that message until the mapping is fixed.
"""

from integrations.mapping.errors import ConfigError, MappingError
from integrations.mapping.rules import MappingRules, Rule, apply_mapping, compile_mapping

__all__ = ["ConfigError", "MappingError", "MappingRules", "Rule", "apply_mapping", "compile_mapping"]

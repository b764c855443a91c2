"""What a CRM case becomes, read once from a connector's settings: the job type and length of the jobs it makes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from data.models.jobs import JobType
from integrations.config import ConnectorConfig
from integrations.mapping import ConfigError


def case_job(config: ConnectorConfig, settings: Mapping[str, Any]) -> tuple[JobType, int]:
    """(`job_type`, `job_minutes`) checked at start-up, naming the bad key."""
    try:
        job_type = JobType(str(settings["job_type"]))
    except ValueError:
        raise ConfigError(config.where("job_type"), f"must be one of {', '.join(t.value for t in JobType)}") from None
    minutes = settings["job_minutes"]
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 24 * 60:
        raise ConfigError(config.where("job_minutes"), f"must be whole minutes from 1 to 1440, got {minutes!r}")
    return job_type, minutes

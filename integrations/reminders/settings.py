"""Where reminders go out: SMTP server, SMS webhook, template overrides and timing, from a TOML file or env."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data.errors import InvalidInput
from data.paths import config_file

ENV_CONFIG = "DISPATCH_REMINDERS_CONFIG"
RECORD = "reminders configuration"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    user: str | None = None
    password: str | None = None
    starttls: bool = True
    from_addr: str = "Dispatch <noreply@localhost>"
    timeout: float = 20.0


@dataclass(frozen=True)
class SmsWebhookSettings:
    url: str
    secret: str  # standardwebhooks secret, "whsec_<base64>"
    timeout: float = 10.0


@dataclass(frozen=True)
class ReminderSettings:
    smtp: SmtpSettings | None = None
    sms: SmsWebhookSettings | None = None
    templates_dir: Path | None = None  # overrides: <dir>/<BRANCH CODE>/<template>, then <dir>/<template>
    day_before_hour: int = 16  # local time from which the day-before reminder goes out
    morning_hour: int = 7  # local time from which the morning-of reminder goes out
    on_the_way_max_age_minutes: int = 30  # older en-route events (e.g. after downtime) send nothing
    max_attempts: int = 5
    extra: dict[str, Any] = field(default_factory=dict)

    def channels(self) -> list[str]:
        return [name for name, conf in (("email", self.smtp), ("sms", self.sms)) if conf is not None]


def default_config_path() -> Path:
    return config_file("reminders.toml")


def _int(value: Any, name: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"must be a whole number, got {value!r}", record=RECORD, field=name) from None
    if not low <= number <= high:
        raise InvalidInput(f"must be between {low} and {high}, got {number}", record=RECORD, field=name)
    return number


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise InvalidInput(f"must be true or false, got {value!r}", record=RECORD, field=name)


def _from_env(env: dict[str, str]) -> dict[str, Any]:
    """DISPATCH_SMTP_HOST, _PORT, _USER, _PASSWORD, _STARTTLS, _FROM; DISPATCH_SMS_WEBHOOK_URL, _SECRET."""
    data: dict[str, Any] = {}
    smtp = {
        key: env[f"DISPATCH_SMTP_{name}"]
        for key, name in (
            ("host", "HOST"),
            ("port", "PORT"),
            ("user", "USER"),
            ("password", "PASSWORD"),
            ("starttls", "STARTTLS"),
            ("from", "FROM"),
        )
        if f"DISPATCH_SMTP_{name}" in env
    }
    if smtp:
        data["smtp"] = smtp
    sms = {
        key: env[f"DISPATCH_SMS_WEBHOOK_{name}"]
        for key, name in (("url", "URL"), ("secret", "SECRET"))
        if f"DISPATCH_SMS_WEBHOOK_{name}" in env
    }
    if sms:
        data["sms"] = sms
    if "DISPATCH_REMINDER_TEMPLATES" in env:
        data["templates_dir"] = env["DISPATCH_REMINDER_TEMPLATES"]
    return data


def parse_settings(data: dict[str, Any]) -> ReminderSettings:
    smtp = None
    if data.get("smtp"):
        s = data["smtp"]
        if not s.get("host"):
            raise InvalidInput("needs a host", record=RECORD, field="smtp.host")
        smtp = SmtpSettings(
            host=str(s["host"]),
            port=_int(s.get("port", 587), "smtp.port", 1, 65535),
            user=s.get("user") or None,
            password=s.get("password") or None,
            starttls=_bool(s.get("starttls", True), "smtp.starttls"),
            from_addr=str(s.get("from", SmtpSettings.from_addr)),
        )
    sms = None
    if data.get("sms"):
        w = data["sms"]
        url, secret = str(w.get("url", "")), str(w.get("secret", ""))
        if not url.startswith(("http://", "https://")):
            raise InvalidInput("must be an http(s) URL", record=RECORD, field="sms.url")
        if not secret.startswith("whsec_"):
            raise InvalidInput("must be a standard-webhooks secret 'whsec_<base64>'", record=RECORD, field="sms.secret")
        sms = SmsWebhookSettings(url, secret)
    templates = data.get("templates_dir")
    return ReminderSettings(
        smtp=smtp,
        sms=sms,
        templates_dir=Path(templates).expanduser() if templates else None,
        day_before_hour=_int(data.get("day_before_hour", 16), "day_before_hour", 0, 23),
        morning_hour=_int(data.get("morning_hour", 7), "morning_hour", 0, 23),
        on_the_way_max_age_minutes=_int(
            data.get("on_the_way_max_age_minutes", 30), "on_the_way_max_age_minutes", 1, 1440
        ),
        max_attempts=_int(data.get("max_attempts", 5), "max_attempts", 1, 100),
    )


def load_settings(path: str | Path | None = None, env: dict[str, str] | None = None) -> ReminderSettings:
    """The TOML file (--config, then $DISPATCH_REMINDERS_CONFIG, then the user config dir) overlaid by env."""
    env = dict(os.environ) if env is None else env
    chosen = Path(path) if path else Path(env[ENV_CONFIG]) if env.get(ENV_CONFIG) else default_config_path()
    data: dict[str, Any] = {}
    if chosen.exists():
        try:
            data = tomllib.loads(chosen.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            raise InvalidInput(f"{chosen}: {err}", record=RECORD) from None
    elif path:
        raise InvalidInput(f"{chosen} does not exist", record=RECORD, field="config")
    for key, value in _from_env(env).items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    return parse_settings(data)

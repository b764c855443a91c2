"""Reminder texts from Jinja2 templates: the package's defaults, overridden per branch from a directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined

from data.errors import InvalidInput


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


class Templates:
    """`<kind>.subject.txt` and `<kind>.email.txt` for email, `<kind>.sms.txt` for SMS."""

    def __init__(self, overrides: Path | None = None) -> None:
        self.overrides = overrides
        self._envs: dict[str, Environment] = {}

    def _env(self, branch_code: str) -> Environment:
        env = self._envs.get(branch_code)
        if env is None:
            loaders: list[BaseLoader] = []
            if self.overrides is not None:
                loaders += [FileSystemLoader(self.overrides / branch_code), FileSystemLoader(self.overrides)]
            loaders.append(PackageLoader("integrations.reminders", "templates"))
            # Plain text, not HTML: no autoescaping; a missing variable is an error, not a blank.
            env = Environment(
                loader=ChoiceLoader(loaders), autoescape=False, undefined=StrictUndefined, keep_trailing_newline=False
            )
            self._envs[branch_code] = env
        return env

    def render(self, branch_code: str, kind: str, channel: str, context: dict[str, Any]) -> Message:
        env = self._env(branch_code)
        try:
            if channel == "email":
                subject = env.get_template(f"{kind}.subject.txt").render(context).strip()
                body = env.get_template(f"{kind}.email.txt").render(context).strip() + "\n"
                return Message(" ".join(subject.split()), body)
            return Message("", env.get_template(f"{kind}.sms.txt").render(context).strip())
        except Exception as err:  # a broken override must name itself, not crash the runner
            raise InvalidInput(f"{kind}/{channel} for branch {branch_code}: {err}", record="reminder template") from err

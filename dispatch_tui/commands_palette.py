"""The command palette's provider: every console action (views, dispatch keys, commands) by name."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from dispatch_tui.keymap import APP_KEYS, WRITE_ACTIONS


class ActionsProvider(Provider):
    """Lists each action with its key; read-only users see write actions marked (the service refuses them)."""

    def _entries(self) -> list[tuple[str, str, str]]:
        app = self.app
        read_only = bool(getattr(app, "read_only", False))
        out = []
        for spec in APP_KEYS:
            name = spec.action.split("(")[0]
            label = f"{spec.description} [{spec.key}]".replace("[colon]", "[:]").replace("[question_mark]", "[?]")
            help_text = spec.id + (
                " · read-only: the service will refuse" if read_only and name in WRITE_ACTIONS else ""
            )
            out.append((label, spec.action, help_text))
        return out

    async def discover(self) -> Hits:
        for label, action, help_text in self._entries():
            yield DiscoveryHit(label, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for label, action, help_text in self._entries():
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, matcher.highlight(label), partial(self._run, action), help=help_text)

    async def _run(self, action: str) -> None:
        invoke = getattr(self.app, "invoke", None)
        if invoke is not None:
            await invoke(action)
        else:
            await self.app.run_action(action)

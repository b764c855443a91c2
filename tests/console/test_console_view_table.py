"""Views are declared once (`dispatch_tui.views`): keys, title tabs and `:` words all come from it."""

from __future__ import annotations

from data.db import Database
from dispatch_tui.keymap import APP_KEYS
from dispatch_tui.views import VIEWS
from dispatch_tui.widgets.command_line import parse_command
from tests.console.conftest import make_app, settle


def test_every_declared_view_has_its_key_and_its_words() -> None:
    keys = {spec.key: spec.action for spec in APP_KEYS}
    for view in VIEWS:
        assert keys[view.key] == f"view('{view.name}')"
        for word in (*view.words, *view.shortcuts):
            assert parse_command(f":{word}").args == (view.name,)


async def test_each_views_key_opens_its_screen_and_its_tab_is_marked(world_db: Database) -> None:
    app = make_app(world_db)
    async with app.run_test(size=(160, 24)) as pilot:
        await settle(app, pilot)
        for view in VIEWS:
            await pilot.press(view.key)
            await settle(app, pilot)
            assert type(app.screen) is view.screen_class(), view.name
            assert f"[{view.key} {view.label}]" in app.title_text

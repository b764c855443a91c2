"""What each role may do: the fixed set of permissions, the built-in roles, and the one check every service calls.

A company defines its own roles (`dispatch roles add`) from `Permission`, optionally scoped to some
branches; the built-in dispatcher, supervisor and admin are predefined roles over the same set. Every
writing service calls `require` (through `Actor.require_write`) on entry, and the console asks
`refusal` to hide the keys a role cannot use and to say why when one is pressed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from data.errors import PermissionDenied
from data.models.org import Role

if TYPE_CHECKING:
    from data.actor import Actor


class Permission(StrEnum):
    ASSIGN = "assign"  # assign, move, unassign, pin jobs; statuses, notes, absences: the day's dispatching
    REPLAN = "replan"  # apply a plan or a re-plan to a branch's day
    EDIT_MASTER_DATA = "edit_master_data"  # technicians, customers, sites, imports, maintenance plans
    SEE_MONEY = "see_money"  # prices, invoices, quotes, payments
    MANAGE_INTEGRATIONS = "manage_integrations"  # connectors' syncs, deliveries, sealed secrets
    ISSUE_TOKENS = "issue_tokens"  # field API tokens for technicians' phones


ALL = frozenset(Permission)
WRITE_PERMISSIONS = ALL - {Permission.SEE_MONEY}

BUILT_IN: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: ALL,
    Role.DISPATCHER: frozenset(
        {
            Permission.ASSIGN,
            Permission.REPLAN,
            Permission.EDIT_MASTER_DATA,
            Permission.SEE_MONEY,
            Permission.MANAGE_INTEGRATIONS,
        }
    ),
    Role.SUPERVISOR: frozenset({Permission.SEE_MONEY}),  # read-only everywhere
    Role.TECHNICIAN: frozenset(),  # the field API's own checks (`Actor.require_field`)
}
BUILT_IN_NAMES = frozenset(r.value for r in (Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN))


def parse_permissions(text: str) -> frozenset[Permission]:
    """`assign,replan` -> the permissions; an unknown name is InvalidInput listing the known ones."""
    from data.errors import InvalidInput

    found: set[Permission] = set()
    for word in (w.strip().lower().replace("-", "_") for w in text.split(",")):
        if not word:
            continue
        try:
            found.add(Permission(word))
        except ValueError:
            known = ", ".join(p.value for p in Permission)
            raise InvalidInput(
                f"unknown permission {word!r} (known: {known})", record="role", field="permissions"
            ) from None
    return frozenset(found)


def refusal(actor: Actor, permission: Permission, action: str, branch_id: int | None = None) -> str | None:
    """Why `actor` may not `action` (None when they may): the message a person is shown."""
    if permission not in actor.permissions:
        if actor.role_name is None and actor.read_only:
            return f"{actor.login} is a {actor.role.value}: read-only, cannot {action}"
        who = f"{actor.login}'s role {actor.role_name}" if actor.role_name else f"{actor.login} is a {actor.role}:"
        return f"{who} cannot {action} (needs the {permission.value} permission)"
    if branch_id is not None and actor.branch_ids is not None and branch_id not in actor.branch_ids:
        return f"{actor.login}'s role {actor.role_name or actor.role.value} cannot {action} in this branch"
    return None


def require(actor: Actor, permission: Permission, action: str, branch_id: int | None = None) -> None:
    """The one permission check: services call it on entry (and with the record's branch once it is loaded)."""
    reason = refusal(actor, permission, action, branch_id)
    if reason is not None:
        raise PermissionDenied(reason)

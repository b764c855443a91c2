"""Who is acting, and what their role lets them do; enforced in services, never only in the UI."""

from __future__ import annotations

from dataclasses import dataclass

from data.errors import PermissionDenied
from data.models.org import Role
from data.permissions import BUILT_IN, WRITE_PERMISSIONS, Permission, require


@dataclass(frozen=True)
class Actor:
    login: str
    role: Role
    source: str = "cli"  # console, cli, api, worker, simulator
    technician_id: int | None = None
    role_name: str | None = None
    """A role the company defined (`dispatch roles`); None for the built-in role `role`."""
    granted: frozenset[Permission] | None = None
    """That role's permissions; None: the built-in role's."""
    branch_ids: frozenset[int] | None = None
    """The branches that role is scoped to; None: every branch."""

    @property
    def permissions(self) -> frozenset[Permission]:
        return BUILT_IN[self.role] if self.granted is None else self.granted

    @property
    def read_only(self) -> bool:
        return not (self.permissions & WRITE_PERMISSIONS)

    def require_write(
        self, action: str, permission: Permission = Permission.ASSIGN, branch_id: int | None = None
    ) -> None:
        require(self, permission, action, branch_id)

    def require_admin(self, action: str) -> None:
        if self.role is not Role.ADMIN or self.role_name is not None:
            raise PermissionDenied(f"{self.login} is a {self.role_name or self.role.value}: only an admin can {action}")

    def require_field(self, technician_id: int, action: str) -> None:
        """A technician reports only on their own work; those who may dispatch may act for them."""
        if Permission.ASSIGN in self.permissions:
            return
        if self.role is Role.TECHNICIAN and self.technician_id == technician_id:
            return
        raise PermissionDenied(
            f"{self.login} ({self.role_name or self.role.value}) cannot {action} for technician {technician_id}"
        )


SYSTEM = Actor(login="system", role=Role.ADMIN, source="system")

"""Who is acting, and what their role lets them do; enforced in services, never only in the UI."""

from __future__ import annotations

from dataclasses import dataclass

from data.errors import PermissionDenied
from data.models.org import Role

WRITE_ROLES = frozenset({Role.DISPATCHER, Role.ADMIN})


@dataclass(frozen=True)
class Actor:
    login: str
    role: Role
    source: str = "cli"  # console, cli, api, worker, simulator
    technician_id: int | None = None

    def require_write(self, action: str) -> None:
        if self.role not in WRITE_ROLES:
            raise PermissionDenied(f"{self.login} is a {self.role.value}: read-only, cannot {action}")

    def require_admin(self, action: str) -> None:
        if self.role is not Role.ADMIN:
            raise PermissionDenied(f"{self.login} is a {self.role.value}: only an admin can {action}")

    def require_field(self, technician_id: int, action: str) -> None:
        """A technician reports only on their own work; dispatchers and admins may act for them."""
        if self.role in WRITE_ROLES:
            return
        if self.role is Role.TECHNICIAN and self.technician_id == technician_id:
            return
        raise PermissionDenied(f"{self.login} ({self.role.value}) cannot {action} for technician {technician_id}")


SYSTEM = Actor(login="system", role=Role.ADMIN, source="system")

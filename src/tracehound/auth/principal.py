from __future__ import annotations

from dataclasses import dataclass

ROLES = ("member", "admin")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the API key's user, in the key's organisation."""

    key_id: str
    user_id: str
    email: str
    role: str
    org_id: str
    org_name: str
    api_enabled: bool
    max_running: int

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

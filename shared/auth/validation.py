"""Input checks for the auth API: every problem is collected and reported per field
(`details.fields.<name>` -> list of messages) in one 400."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any

from shared import errors
from shared.web.authz import ROLES

# Deliberately simple: one "@", no spaces, a dot in the domain. Deliverability is
# proven by the user receiving mail, not by a regular expression.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f.]+(\.[^@\s\x00-\x1f.]+)+$")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_EMAIL = 254


def normalize_email(email: str) -> str:
    return unicodedata.normalize("NFKC", email).strip().lower()


def email_key(email: str) -> str:
    """Document id of the global email index (`emails/{sha256(lowercased email)}`)."""
    return hashlib.sha256(normalize_email(email).encode()).hexdigest()


def valid_id(value: str) -> bool:
    return isinstance(value, str) and bool(_ID.match(value))


class Fields:
    """Collects per-field problems of one request body."""

    def __init__(self, body: dict[str, Any], allowed: set[str] | None = None) -> None:
        self.body = body
        self.problems: dict[str, list[str]] = {}
        if allowed is not None:
            for key in sorted(set(body) - allowed):
                self.add(key, "unknown field")

    def add(self, field: str, message: str) -> None:
        self.problems.setdefault(field, []).append(message)

    def string(self, field: str, *, required: bool = True, max_len: int = 200,
               min_len: int = 1, strip: bool = True) -> str | None:
        value = self.body.get(field)
        if value is None:
            if required:
                self.add(field, "is required")
            return None
        if not isinstance(value, str):
            self.add(field, "must be a string")
            return None
        if strip:
            value = value.strip()
        if len(value) < min_len:
            self.add(field, "must not be empty" if min_len == 1
                     else f"must be at least {min_len} characters")
        elif len(value) > max_len:
            self.add(field, f"must be at most {max_len} characters")
        elif any(unicodedata.category(c) == "Cc" for c in value):
            self.add(field, "must not contain control characters")
        return value

    def email(self, field: str = "email") -> str | None:
        value = self.string(field, max_len=MAX_EMAIL)
        if value is None or field in self.problems:
            return None
        value = normalize_email(value)
        if not _EMAIL.match(value):
            self.add(field, "is not a valid email address")
            return None
        return value

    def password(self, field: str = "password", *, required: bool = True) -> str | None:
        # Never stripped: spaces are part of a password.
        return self.string(field, required=required, max_len=1024, strip=False)

    def role(self, field: str = "role", *, required: bool = True) -> str | None:
        value = self.body.get(field)
        if value is None:
            if required:
                self.add(field, "is required")
            return None
        if value not in ROLES:
            self.add(field, f"must be one of {', '.join(ROLES)}")
            return None
        return value

    def boolean(self, field: str) -> bool | None:
        value = self.body.get(field)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.add(field, "must be true or false")
            return None
        return value

    def done(self) -> None:
        if self.problems:
            names = ", ".join(sorted(self.problems))
            raise errors.InvalidInput(f"invalid fields: {names}", code="invalid_fields",
                                      details={"fields": self.problems})

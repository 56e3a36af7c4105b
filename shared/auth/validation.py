"""Email and id rules of the auth API. The request bodies that use them are the
pydantic models of shared.auth.models, which report every bad field in one 400."""

from __future__ import annotations

import hashlib
import re
import unicodedata

# Deliberately simple: one "@", no spaces, a dot in the domain. Deliverability is
# proven by the user receiving mail, not by a regular expression.
EMAIL_PATTERN = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f.]+(\.[^@\s\x00-\x1f.]+)+$")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_EMAIL = 254


def normalize_email(email: str) -> str:
    return unicodedata.normalize("NFKC", email).strip().lower()


def email_key(email: str) -> str:
    """Document id of the global email index (`emails/{sha256(lowercased email)}`)."""
    return hashlib.sha256(normalize_email(email).encode()).hexdigest()


def valid_id(value: str) -> bool:
    return isinstance(value, str) and bool(_ID.match(value))

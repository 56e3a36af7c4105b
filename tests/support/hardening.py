"""The accounts of the hardening suites: every tenant has a user of each role, and all
of them share one password made up per run, so that the log scan can look for it."""

from __future__ import annotations

import secrets

ROLES = ("viewer", "analyst", "admin")
PASSWORD = "Hardening-" + secrets.token_hex(8)

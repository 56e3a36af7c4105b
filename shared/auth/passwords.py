"""Password hashing (argon2id) and the password policy.

Parameters follow the OWASP password storage guidance for argon2id (19 MiB, 2 passes,
1 lane): about 30-60 ms per hash on one core, so a login costs one core that long and
an offline attacker pays the same per guess. Hashes carry their parameters, so raising
them later only needs `needs_rehash` on the next successful login.
"""

from __future__ import annotations

import contextlib
import os
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path

from shared import errors

MIN_LENGTH = 10
MAX_LENGTH = 128
_COMMON_FILE = Path(__file__).with_name("common_passwords.txt")

# The hash of a random, discarded password with the default parameters: verified
# instead when there is no account, so that path costs the same from the first call.
_DEFAULT_DUMMY = ("$argon2id$v=19$m=19456,t=2,p=1$odyuN+wkOl26wIFaLcNKwQ$"
                  "zeBU18tRAtqH6xXNesuv9AB5ORP0YulDSlzYxw82eKM")

_hasher_lock = threading.Lock()
_hasher = None
_dummy_hash: str | None = None


def _params() -> dict[str, int]:
    from shared.settings import get_settings

    s = get_settings()
    return {"time_cost": s.argon2_time_cost, "memory_cost": s.argon2_memory_kib,
            "parallelism": s.argon2_parallelism}


def hasher():
    """The process's argon2id PasswordHasher, built on first use."""
    global _hasher
    if _hasher is None:
        with _hasher_lock:
            if _hasher is None:
                from argon2 import PasswordHasher, Type

                _hasher = PasswordHasher(type=Type.ID, hash_len=32, salt_len=16, **_params())
    return _hasher


def reset() -> None:
    """Forget the cached hasher (tests that change the parameters)."""
    global _hasher, _dummy_hash
    with _hasher_lock:
        _hasher, _dummy_hash = None, None


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True if password matches. With no stored hash (unknown email, invited user) a
    hash of the same cost is still verified, so the answer takes as long either way."""
    from argon2.exceptions import InvalidHashError, VerificationError

    global _dummy_hash
    h = hasher()
    if not stored_hash:
        if _dummy_hash is None:
            _dummy_hash = (h.hash(os.urandom(16).hex()) if h.check_needs_rehash(_DEFAULT_DUMMY)
                           else _DEFAULT_DUMMY)
        stored_hash, password = _dummy_hash, password + "\x00never"
        with contextlib.suppress(VerificationError, InvalidHashError):
            h.verify(stored_hash, password)
        return False
    try:
        return h.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return hasher().check_needs_rehash(stored_hash)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = _COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(x.strip().lower() for x in lines if x.strip() and not x.startswith("#"))


def policy_problems(password: str, email: str = "") -> list[str]:
    """Why a new password is refused (empty when it is acceptable)."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters")
    folded = unicodedata.normalize("NFKC", password).strip().lower()
    email = email.strip().lower()
    if email and (folded == email or folded == email.split("@", 1)[0]):
        problems.append("must not be your email address")
    if folded in common_passwords():
        problems.append("is too common")
    return problems


def check_policy(password: str, email: str = "", *, field: str = "password") -> None:
    problems = policy_problems(password, email)
    if problems:
        raise errors.InvalidInput("the password does not meet the policy", code="weak_password",
                                  details={"fields": {field: problems}})

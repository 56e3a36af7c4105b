"""argon2id hashing and the password policy."""

from __future__ import annotations

import pytest

from shared import errors
from shared.auth import passwords
from shared.settings import get_settings


def test_hashes_are_argon2id_salted_and_verify():
    a = passwords.hash_password("a perfectly fine passphrase")
    b = passwords.hash_password("a perfectly fine passphrase")
    assert a.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert a != b  # salted
    assert passwords.verify_password(a, "a perfectly fine passphrase")
    assert not passwords.verify_password(a, "a perfectly fine passphrasE")
    assert not passwords.verify_password("not-a-hash", "x")


def test_without_a_stored_hash_verification_still_runs_and_fails(monkeypatch):
    calls = []
    real = passwords.hasher()
    monkeypatch.setattr(passwords, "_hasher", _Spy(real, calls))
    assert passwords.verify_password(None, "whatever it is") is False
    assert passwords.verify_password("", "whatever it is") is False
    # The unknown-account path pays for a real argon2 verification, like a wrong password.
    assert calls.count("verify") == 2


class _Spy:
    def __init__(self, inner, calls):
        self.inner, self.calls = inner, calls

    def __getattr__(self, name):
        attr = getattr(self.inner, name)

        def wrapped(*a, **kw):
            self.calls.append(name)
            return attr(*a, **kw)
        return wrapped


def test_weaker_parameters_are_flagged_for_rehash(monkeypatch, setenv):
    setenv("TIDEMARK_ARGON2_MEMORY_KIB", "8192")
    setenv("TIDEMARK_ARGON2_TIME_COST", "1")
    passwords.reset()
    weak = passwords.hash_password("a perfectly fine passphrase")
    monkeypatch.undo()
    get_settings.cache_clear()
    passwords.reset()
    assert passwords.needs_rehash(weak)
    assert passwords.verify_password(weak, "a perfectly fine passphrase")
    assert not passwords.needs_rehash(passwords.hash_password("a perfectly fine passphrase"))


@pytest.mark.parametrize("password,email,problem", [
    ("short1!", "", "at least 10"),
    ("x" * 129, "", "at most 128"),
    ("password123", "", "too common"),
    ("QwertyUiop", "", "too common"),
    ("  Password123!  ", "", "too common"),
    ("jane.doe@example.com", "jane.doe@example.com", "email"),
    ("JANE.DOE@EXAMPLE.COM", "jane.doe@example.com", "email"),
    ("jane.doe.smith", "jane.doe.smith@example.com", "email"),
])
def test_the_policy_refuses(password, email, problem):
    problems = passwords.policy_problems(password, email)
    assert any(problem in p for p in problems), problems
    with pytest.raises(errors.InvalidInput) as info:
        passwords.check_policy(password, email)
    assert info.value.details["fields"]["password"] == problems


@pytest.mark.parametrize("password", ["correct horse battery staple", "Tr1cky-but-fine",
                                      "ünïcödé pässwörd", "          x"])
def test_the_policy_accepts_long_uncommon_passwords(password):
    assert passwords.policy_problems(password, "jane@example.com") == []


def test_the_bundled_list_is_loaded_and_lowercased():
    common = passwords.common_passwords()
    assert len(common) > 200
    assert "password123!" in common
    assert all(p == p.lower() for p in common)

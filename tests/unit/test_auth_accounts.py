"""One account-creation transaction for registration and an admin's create/invite:
the email index entry, the tenant (on registration) and the user appear together or
not at all."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from shared import errors
from shared.adapters.local.sqlite_docs import SqliteDocumentStore
from shared.auth.service import EMAILS, create_account, users_collection
from shared.auth.validation import email_key

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def docs(tmp_path):
    store = SqliteDocumentStore(tmp_path / "docs.sqlite")
    yield store
    store.close()


def _user(email: str) -> dict:
    return {"email": email, "name": None, "role": "admin", "disabled": False,
            "password_hash": "h", "created_at": NOW, "updated_at": NOW}


def test_registration_creates_the_index_entry_tenant_and_user_together(docs):
    create_account(docs, email="Ann@Example.com", tenant_id="t_1", user_id="u_1",
                   user=_user("Ann@Example.com"), tenant={"name": "Acme", "created_at": NOW})
    index = docs.get(EMAILS, email_key("ann@example.com"))
    assert index.data == {"tenant_id": "t_1", "user_id": "u_1", "created_at": NOW}
    assert docs.get("tenants", "t_1").data == {"name": "Acme", "created_at": NOW}
    assert docs.get(users_collection("t_1"), "u_1").data["email"] == "Ann@Example.com"


def test_a_user_added_to_an_existing_tenant_creates_no_tenant(docs):
    docs.set("tenants", "t_1", {"name": "Acme"})
    create_account(docs, email="bob@example.com", tenant_id="t_1", user_id="u_2",
                   user=_user("bob@example.com"))
    assert docs.get("tenants", "t_1").data == {"name": "Acme"}
    assert docs.get(users_collection("t_1"), "u_2") is not None
    assert docs.get(EMAILS, email_key("bob@example.com")).data["user_id"] == "u_2"


def test_a_taken_email_is_refused_and_nothing_of_the_second_account_is_written(docs):
    create_account(docs, email="ann@example.com", tenant_id="t_1", user_id="u_1",
                   user=_user("ann@example.com"), tenant={"name": "A", "created_at": NOW})
    with pytest.raises(errors.Conflict) as exc:
        create_account(docs, email="ANN@example.com", tenant_id="t_2", user_id="u_2",
                       user=_user("ANN@example.com"), tenant={"name": "B", "created_at": NOW})
    assert exc.value.code == "email_taken"
    assert exc.value.details == {"fields": {"email": ["is already registered"]}}
    assert docs.get("tenants", "t_2") is None
    assert docs.get(users_collection("t_2"), "u_2") is None
    assert docs.get(EMAILS, email_key("ann@example.com")).data["user_id"] == "u_1"


def test_concurrent_creations_with_one_email_leave_exactly_one_account(docs):
    n = 6
    barrier = threading.Barrier(n)
    outcomes: list[str] = []
    lock = threading.Lock()

    def contender(i: int) -> None:
        barrier.wait()
        try:
            create_account(docs, email="race@example.com", tenant_id=f"t_{i}",
                           user_id=f"u_{i}", user=_user("race@example.com"),
                           tenant={"name": f"T{i}", "created_at": NOW})
            result = f"won:{i}"
        except errors.Conflict as exc:
            result = exc.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=contender, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [o for o in outcomes if o.startswith("won:")]
    assert len(winners) == 1
    assert sorted(o for o in outcomes if not o.startswith("won:")) == ["email_taken"] * (n - 1)
    winner = winners[0].split(":")[1]
    assert docs.get(EMAILS, email_key("race@example.com")).data["user_id"] == f"u_{winner}"
    tenants = [i for i in range(n) if docs.get("tenants", f"t_{i}") is not None]
    assert tenants == [int(winner)]

"""The permission table (tests/infra/gcp_permissions.py) against its seed and Google's
role data: every entry cites Google's documentation, names real permissions, and says
why wherever it departs from tests/data/gcp-iam/methods.json."""

from __future__ import annotations

import pytest

from tests.infra import iam_grants
from tests.infra.gcp_permissions import METHODS, UNRECORDED, seed


def all_permissions() -> frozenset[str]:
    return frozenset().union(*iam_grants.predefined_roles().values())


@pytest.mark.parametrize("method", sorted(METHODS))
def test_each_entry_cites_google_and_names_real_permissions(method):
    entry, known = METHODS[method], all_permissions()
    assert entry.doc.startswith(("https://cloud.google.com/", "https://firebase.google.com/"))
    for alternatives in entry.permissions:
        for perm in alternatives.split("|"):
            assert perm in known, f"{method}: {perm} is in no predefined role"


@pytest.mark.parametrize("method", sorted(METHODS))
def test_a_departure_from_the_seed_says_why(method):
    entry, seeded = METHODS[method], seed().get(method)
    ours = {p for alt in entry.permissions for p in alt.split("|")}
    if seeded is None or set(seeded) != ours:
        # Commit's permissions depend on its writes (gcp_permissions._commit_needs).
        assert entry.seed_differs or method.endswith(".commit"), \
            f"{method}: table {sorted(ours)} vs seed {seeded}, with no reason given"


def test_each_unrecorded_grant_exists_in_terraform():
    addresses = {g.address for g in iam_grants.grants()}
    assert set(UNRECORDED) <= addresses

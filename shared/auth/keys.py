"""JWT signing keys: a key set (JSON) held in the SecretStore.

`jwt-signing-keys` holds the private keys (only the auth function reads it);
`jwt-public-keys` holds the public JWKS every function verifies with. During a
rotation both the new and the previous key are in the set: tokens are signed with the
newest, and verified with any key still in the set.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

ALGORITHM = "ES256"


def _new_key() -> dict[str, Any]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {"kid": secrets.token_hex(8), "alg": ALGORITHM, "private_pem": pem,
            "created_at": int(time.time())}


def new_keyset() -> bytes:
    return json.dumps({"keys": [_new_key()]}).encode()


def rotate(keyset: bytes, keep: int = 2) -> bytes:
    """A new signing key first; the newest `keep - 1` old keys stay valid for
    verification until the next rotation."""
    keys = json.loads(keyset)["keys"]
    return json.dumps({"keys": [_new_key(), *keys][:keep]}).encode()


def public_jwk(entry: dict[str, Any]) -> dict[str, Any]:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_private_key(entry["private_pem"].encode(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):  # _new_key only makes P-256 keys
        raise ValueError(f"signing key {entry.get('kid')!r} is not an EC key")
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": entry["kid"], "alg": ALGORITHM, "use": "sig"})
    return jwk


def public_jwks(keyset: bytes) -> bytes:
    return json.dumps({"keys": [public_jwk(k) for k in json.loads(keyset)["keys"]]}).encode()


def rotate_in_store(secrets, keep: int = 2) -> dict[str, Any]:
    """`tidemark keys rotate`: add a new signing key as a new secret version and
    publish the matching public JWKS. The previous key stays in both sets, so tokens
    it signed keep verifying until they expire (15 min); run the next rotation no
    sooner than that. Returns the new kid and the kids now valid.

    On the first deploy terraform has created the secrets but no version (the private
    key must never be in terraform state). `latest` is an alias of the most recently
    created version
    (https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets.versions/access),
    so on a secret with none the access answers NOT_FOUND: the first rotation then
    writes the first key set, and the runbook's one command works on an empty project
    as on a running one."""
    from shared import errors

    try:
        current = secrets.get("jwt-signing-keys")
    except errors.NotFound:
        current = None
    rotated = new_keyset() if current is None else rotate(current, keep=keep)
    version = secrets.add_version("jwt-signing-keys", rotated)
    # Verifiers read the public set from its own secret (on GCP only the auth function
    # may read the private one); the local store derives it, so this is harmless there.
    secrets.add_version("jwt-public-keys", public_jwks(rotated))
    kids = [k["kid"] for k in json.loads(rotated)["keys"]]
    return {"kid": kids[0], "valid_kids": kids, "version": version}


def ensure_in_store(secrets) -> str:
    """First deployment: create the signing key set (and its public JWKS) when the
    store has none. Returns the kid tokens are signed with."""
    from shared import errors

    try:
        current = secrets.get("jwt-signing-keys")
    except errors.NotFound:
        current = new_keyset()
        secrets.add_version("jwt-signing-keys", current)
        secrets.add_version("jwt-public-keys", public_jwks(current))
    return json.loads(current)["keys"][0]["kid"]

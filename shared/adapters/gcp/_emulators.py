"""Emulator endpoints from the environment, for the clients that do not read one.

The Firestore, Pub/Sub and Cloud Storage clients send themselves to an emulator when
FIRESTORE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST or STORAGE_EMULATOR_HOST is set, and the
BigQuery client takes its endpoint from BIGQUERY_EMULATOR_HOST. The rest need help for
a function started as its own process (tests/e2e/test_deployed_packages.py), which can
be configured only through its environment:

- BigQuery reads the host but still asks Application Default Credentials for a token;
  emulators take none, so it gets anonymous credentials;
- Cloud Tasks has no variable: CLOUD_TASKS_EMULATOR_HOST, named after the others,
  gives it a plain gRPC channel to the emulator (in cloud_tasks.py, which alone
  imports the Cloud Tasks client);
- Secret Manager has no emulator at all: SECRET_MANAGER_EMULATOR_HOST sends the client,
  over REST, to the stand-in in tests/support/secret_manager_standin.py;
- V4 signed URLs are signed through IAM's signBlob, which has no emulator; with the
  Storage emulator (which checks no signature) a throwaway key signs instead.

None of these variables is set on Cloud Functions (terraform/locals.tf), where every
function below returns "no override" and the clients behave as they always do.
"""

from __future__ import annotations

import functools
import os
from typing import Any

BIGQUERY = "BIGQUERY_EMULATOR_HOST"
CLOUD_TASKS = "CLOUD_TASKS_EMULATOR_HOST"
SECRET_MANAGER = "SECRET_MANAGER_EMULATOR_HOST"  # noqa: S105 - a variable name
STORAGE = "STORAGE_EMULATOR_HOST"


def bigquery_options() -> dict[str, Any]:
    if not os.environ.get(BIGQUERY):
        return {}
    from google.auth.credentials import AnonymousCredentials

    return {"credentials": AnonymousCredentials()}


def secret_manager_options() -> dict[str, Any]:
    host = os.environ.get(SECRET_MANAGER)
    if not host:
        return {}
    from google.auth.credentials import AnonymousCredentials

    return {"credentials": AnonymousCredentials(), "transport": "rest",
            "client_options": {"api_endpoint": f"http://{host}"}}


def storage_emulated() -> bool:
    return bool(os.environ.get(STORAGE))


@functools.cache
def throwaway_signing_credentials() -> Any:
    """Service-account credentials around a fresh key that no account owns: enough for
    the Storage emulator, which does not check signatures, and useless anywhere else."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from google.oauth2 import service_account

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return service_account.Credentials.from_service_account_info({
        "type": "service_account", "project_id": "emulator", "private_key_id": "emulator",
        "private_key": pem, "client_email": "emulator@emulator.iam.gserviceaccount.com",
        "client_id": "0", "token_uri": "http://127.0.0.1:9/token"})

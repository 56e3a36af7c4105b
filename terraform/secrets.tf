# JWT keys. The values are never in terraform (nor in its state): they are added as
# versions by `tidemark keys rotate` under TIDEMARK_BACKEND=gcp (docs/operations.md).

# The private signing keys: only the auth function reads them.
resource "google_secret_manager_secret" "jwt_signing_keys" {
  secret_id = "${local.prefix}-jwt-signing-keys"

  replication {
    auto {}
  }

  depends_on = [google_project_service.enabled]
}

# The public key set every function verifies access tokens with.
resource "google_secret_manager_secret" "jwt_public_keys" {
  secret_id = "${local.prefix}-jwt-public-keys"

  replication {
    auto {}
  }

  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_iam_member" "signing_keys_auth" {
  secret_id = google_secret_manager_secret.jwt_signing_keys.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function["auth"].email}"
}

resource "google_secret_manager_secret_iam_member" "public_keys_functions" {
  for_each = google_service_account.function

  secret_id = google_secret_manager_secret.jwt_public_keys.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${each.value.email}"
}

# Operators who rotate keys: read the current set, add new versions of both secrets.
resource "google_secret_manager_secret_iam_member" "signing_keys_rotators_read" {
  for_each = toset(var.key_rotation_members)

  secret_id = google_secret_manager_secret.jwt_signing_keys.id
  role      = "roles/secretmanager.secretAccessor"
  member    = each.value
}

resource "google_secret_manager_secret_iam_member" "signing_keys_rotators_add" {
  for_each = toset(var.key_rotation_members)

  secret_id = google_secret_manager_secret.jwt_signing_keys.id
  role      = "roles/secretmanager.secretVersionAdder"
  member    = each.value
}

resource "google_secret_manager_secret_iam_member" "public_keys_rotators_add" {
  for_each = toset(var.key_rotation_members)

  secret_id = google_secret_manager_secret.jwt_public_keys.id
  role      = "roles/secretmanager.secretVersionAdder"
  member    = each.value
}

# The SMTP relay's password for account mail (auth) and alert mail (the metrics task).
# Compute Engine blocks outbound port 25, so mail goes to a relay on 587 or 465
# (https://cloud.google.com/compute/docs/tutorials/sending-mail). The value is never in
# terraform: the operator adds it as a version (docs/operations.md, "Mail").
resource "google_secret_manager_secret" "smtp_password" {
  secret_id = "${local.prefix}-smtp-password"

  replication {
    auto {}
  }

  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_iam_member" "smtp_password_senders" {
  for_each = toset(["auth", "metrics"])

  secret_id = google_secret_manager_secret.smtp_password.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function[each.key].email}"
}

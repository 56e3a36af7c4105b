# Native-mode Firestore: users, uploads, snapshots, forecasts, tokens, audit.
resource "google_firestore_database" "main" {
  name                              = "(default)"
  location_id                       = var.firestore_location
  type                              = "FIRESTORE_NATIVE"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = "DELETE_PROTECTION_ENABLED"
  deletion_policy                   = "ABANDON"

  depends_on = [google_project_service.enabled]
}

# Composite indexes for the queries the automatic single-field indexes do not serve.
# Collection ids are the last path segment: tenants/{tid}/uploads -> "uploads".
# A single-field index is ordered by its field and then by the document name in the
# same direction; the document store breaks ties by document name ascending
# (shared/adapters/gcp/firestore.py), so a descending order needs a composite index
# ending in __name__ ASCENDING. Which queries need one is checked against the queries
# the emulator end-to-end tests record (tests/infra/firestore_queries.py, rules from
# https://firebase.google.com/docs/firestore/query-data/index-overview).
locals {
  firestore_indexes = {
    # GET /api/uploads: newest first (shared/uploads/service.py list_uploads).
    uploads_newest_first = {
      collection = "uploads"
      fields     = [["created_at", "DESCENDING"], ["__name__", "ASCENDING"]]
    }
  }

  # Documents that carry an `expires_at` timestamp (shared/auth/refresh.py,
  # shared/auth/ratelimit.py): Firestore deletes them once it has passed.
  firestore_ttl_collections = toset(["refresh_tokens", "rate_limits"])
}

resource "google_firestore_index" "composite" {
  for_each = local.firestore_indexes

  database    = google_firestore_database.main.name
  collection  = each.value.collection
  query_scope = "COLLECTION"

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path = fields.value[0]
      order      = fields.value[1]
    }
  }
}

resource "google_firestore_field" "ttl" {
  for_each = local.firestore_ttl_collections

  database   = google_firestore_database.main.name
  collection = each.value
  field      = "expires_at"

  ttl_config {}

  # Nobody queries on expires_at: no single-field index for it.
  index_config {}
}

# Security rules for the Firebase client SDKs: deny everything (firestore.rules). The
# functions reach Firestore with IAM through the server client libraries, which rules do
# not apply to (https://firebase.google.com/docs/firestore/security/get-started).
resource "google_firebaserules_ruleset" "firestore" {
  project = var.project_id

  source {
    files {
      name    = "firestore.rules"
      content = file("${path.module}/firestore.rules")
    }
  }

  depends_on = [google_firestore_database.main, google_project_service.enabled]
}

# The release named cloud.firestore applies to the (default) database.
resource "google_firebaserules_release" "firestore" {
  project      = var.project_id
  name         = "cloud.firestore"
  ruleset_name = "projects/${var.project_id}/rulesets/${google_firebaserules_ruleset.firestore.name}"

  lifecycle {
    replace_triggered_by = [google_firebaserules_ruleset.firestore]
  }
}

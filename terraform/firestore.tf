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

# Composite indexes for the queries that combine fields (a filter with an order on
# another field, or several ordered/range fields). Collection ids are the last path
# segment: tenants/{tid}/uploads -> "uploads". Today every query in shared/ filters on
# one field or orders by one field, which Firestore's automatic single-field indexes
# serve; tests/infra/test_firestore_indexes.py reads the queries in shared/ and fails
# when one needs an index missing here. Entry shape:
#   uploads_by_dataset = { collection = "uploads",
#                          fields = [["dataset_id", "ASCENDING"], ["created_at", "DESCENDING"]] }
locals {
  firestore_indexes = {}

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

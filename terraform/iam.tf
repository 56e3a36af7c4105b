# One runtime service account per function (functions/<name>/), each with only the
# roles its code calls; no basic roles and no project-wide admin roles. Project-level
# grants are limited to roles that cannot be scoped lower (BigQuery job creation,
# Firestore data access, Eventarc event receipt, build logging and image pushes).

resource "google_service_account" "function" {
  for_each = local.function_sources

  account_id   = "${local.prefix}-${each.key}"
  display_name = "Tidemark ${var.environment} ${each.key} function"

  depends_on = [google_project_service.enabled]
}

# The identity Cloud Tasks signs its OIDC tokens with: the only caller of the task
# functions.
resource "google_service_account" "tasks" {
  account_id   = "${local.prefix}-tasks"
  display_name = "Tidemark ${var.environment} task queue invoker"

  depends_on = [google_project_service.enabled]
}

# The identity Eventarc delivers the uploads bucket's finalize events with.
resource "google_service_account" "events" {
  account_id   = "${local.prefix}-events"
  display_name = "Tidemark ${var.environment} finalize event delivery"

  depends_on = [google_project_service.enabled]
}

# Cloud Build identity that turns each function's source zip into its image.
resource "google_service_account" "builder" {
  account_id   = "${local.prefix}-builder"
  display_name = "Tidemark ${var.environment} function builds"

  depends_on = [google_project_service.enabled]
}

# --- auth: Firestore (users, tenants, refresh tokens) + JWT secrets (secrets.tf) ------

resource "google_project_iam_member" "auth_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.function["auth"].email}"
}

# --- upload: Storage + BigQuery + Firestore + Cloud Tasks + signBlob on itself ---------

resource "google_storage_bucket_iam_member" "upload_objects" {
  bucket = google_storage_bucket.uploads.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.function["upload"].email}"
}

resource "google_project_iam_member" "upload_bigquery_jobs" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = "serviceAccount:${google_service_account.function["upload"].email}"
}

resource "google_bigquery_dataset_iam_member" "upload_warehouse" {
  dataset_id = google_bigquery_dataset.warehouse.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${google_service_account.function["upload"].email}"
}

resource "google_project_iam_member" "upload_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.function["upload"].email}"
}

resource "google_cloud_tasks_queue_iam_member" "upload_enqueue_metrics" {
  name     = google_cloud_tasks_queue.metrics.name
  location = google_cloud_tasks_queue.metrics.location
  role     = "roles/cloudtasks.enqueuer"
  member   = "serviceAccount:${google_service_account.function["upload"].email}"
}

# Creating a task that carries the tasks SA's OIDC token needs actAs on that SA.
resource "google_service_account_iam_member" "upload_act_as_tasks" {
  service_account_id = google_service_account.tasks.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.function["upload"].email}"
}

# V4 signed upload URLs: with no key file on Cloud Functions, the upload function
# signs through the IAM signBlob API as itself.
resource "google_service_account_iam_member" "upload_sign_blob_self" {
  service_account_id = google_service_account.function["upload"].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${google_service_account.function["upload"].email}"
}

# --- metrics: BigQuery (read) + Firestore + Cloud Tasks (forecast queue) ---------------

resource "google_project_iam_member" "metrics_bigquery_jobs" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = "serviceAccount:${google_service_account.function["metrics"].email}"
}

resource "google_bigquery_dataset_iam_member" "metrics_warehouse" {
  dataset_id = google_bigquery_dataset.warehouse.dataset_id
  role       = "roles/bigquery.dataViewer"
  member     = "serviceAccount:${google_service_account.function["metrics"].email}"
}

resource "google_project_iam_member" "metrics_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.function["metrics"].email}"
}

resource "google_cloud_tasks_queue_iam_member" "metrics_enqueue_forecast" {
  name     = google_cloud_tasks_queue.forecast.name
  location = google_cloud_tasks_queue.forecast.location
  role     = "roles/cloudtasks.enqueuer"
  member   = "serviceAccount:${google_service_account.function["metrics"].email}"
}

resource "google_service_account_iam_member" "metrics_act_as_tasks" {
  service_account_id = google_service_account.tasks.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.function["metrics"].email}"
}

# --- predict: BigQuery (read) + Firestore ------------------------------------------------

resource "google_project_iam_member" "predict_bigquery_jobs" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = "serviceAccount:${google_service_account.function["predict"].email}"
}

resource "google_bigquery_dataset_iam_member" "predict_warehouse" {
  dataset_id = google_bigquery_dataset.warehouse.dataset_id
  role       = "roles/bigquery.dataViewer"
  member     = "serviceAccount:${google_service_account.function["predict"].email}"
}

resource "google_project_iam_member" "predict_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.function["predict"].email}"
}

# --- finalize events -------------------------------------------------------------------

# Eventarc's GCS source publishes through the Cloud Storage service agent.
data "google_storage_project_service_account" "gcs_agent" {
  project = var.project_id
}

resource "google_project_iam_member" "gcs_agent_pubsub_publisher" {
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.gcs_agent.email_address}"
}

resource "google_project_iam_member" "events_receiver" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = "serviceAccount:${google_service_account.events.email}"
}

# --- function builds ---------------------------------------------------------------------

resource "google_project_iam_member" "builder_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.builder.email}"
}

resource "google_project_iam_member" "builder_images" {
  project = var.project_id
  role    = "roles/artifactregistry.writer"
  member  = "serviceAccount:${google_service_account.builder.email}"
}

resource "google_storage_bucket_iam_member" "builder_sources" {
  bucket = google_storage_bucket.sources.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.builder.email}"
}

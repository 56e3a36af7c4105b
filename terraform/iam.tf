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

# The finalize event hands each upload to the ingest task.
resource "google_cloud_tasks_queue_iam_member" "upload_enqueue_ingest" {
  name     = google_cloud_tasks_queue.ingest.name
  location = google_cloud_tasks_queue.ingest.location
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
# What a custom build service account needs for Cloud Run functions (gen2) builds:
# https://cloud.google.com/run/docs/configuring/services/build-service-account and
# https://cloud.google.com/functions/docs/securing/build-custom-sa

resource "google_project_iam_member" "builder_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.builder.email}"
}

# The build pushes to the gcf-artifacts repository that Cloud Functions creates on the
# first deploy; it is not a terraform resource, so the grant cannot be scoped to it.
resource "google_project_iam_member" "builder_images" {
  project = var.project_id
  role    = "roles/artifactregistry.writer"
  member  = "serviceAccount:${google_service_account.builder.email}"
}

data "google_project" "build_project" {
  project_id = var.project_id
}

# A gen2 build reads the function's source from Google's own staging bucket,
# gcf-v2-sources-<project number>-<region>, which Cloud Functions creates on the first
# deploy (so it cannot be named in a bucket-level grant). Storage Object Admin is the
# role the build service account page lists; the condition keeps it to those buckets
# (https://cloud.google.com/iam/docs/conditions-resource-attributes#resource-name: a
# bucket is projects/_/buckets/NAME and its objects projects/_/buckets/NAME/objects/...).
resource "google_project_iam_member" "builder_gcf_sources" {
  project = var.project_id
  role    = "roles/storage.objectAdmin"
  member  = "serviceAccount:${google_service_account.builder.email}"

  condition {
    title       = "gcf-v2-sources buckets only"
    description = "The staging buckets Cloud Functions copies each function's source to."
    expression  = "resource.name.startsWith(\"projects/_/buckets/gcf-v2-sources-${data.google_project.build_project.number}-\")"
  }
}

# Read-only on our own packaged zips. The documented build steps do not need it (Cloud
# Functions copies the zip into the staging bucket above and the build reads the copy);
# it stays because functions.tf orders every function after it, and it now waits for
# the staging-bucket grant, so every function does too.
resource "google_storage_bucket_iam_member" "builder_sources" {
  bucket = google_storage_bucket.sources.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.builder.email}"

  depends_on = [google_project_iam_member.builder_gcf_sources]
}

# --- deploy pipeline ---------------------------------------------------------------------
# The identity the approval-gated Cloud Build trigger (cloudbuild_trigger.tf) runs
# cloudbuild.yaml as. No project-wide serviceAccountUser, storage admin or unlimited IAM
# admin: actAs only on the accounts it deploys functions as, storage roles only on the
# buckets it writes, and project IAM changes only for the roles terraform grants. These
# grants are its own: changing them needs an owner's apply (the condition below refuses
# the pipeline any role outside the list), so the pipeline cannot widen itself.
resource "google_service_account" "deployer" {
  account_id   = "${local.prefix}-deployer"
  display_name = "Tidemark ${var.environment} deploy pipeline"

  depends_on = [google_project_service.enabled]
}

locals {
  # Project-level roles terraform grants to the accounts it manages (this file): the
  # only ones the pipeline may grant or revoke on the project.
  deployer_grantable_project_roles = [
    "roles/artifactregistry.writer",
    "roles/bigquery.jobUser",
    "roles/datastore.user",
    "roles/eventarc.eventReceiver",
    "roles/logging.logWriter",
    "roles/pubsub.publisher",
    "roles/storage.objectAdmin",
  ]

  # Resources terraform creates at project level, each by its service's own role. No
  # lower scope exists before the resource does.
  deployer_project_roles = toset([
    "roles/cloudfunctions.developer",       # google_cloudfunctions2_function
    "roles/run.admin",                      # invoker bindings on the functions' Cloud Run services
    "roles/eventarc.developer",             # the ingest function's finalize trigger
    "roles/bigquery.user",                  # the warehouse dataset (creator becomes its owner)
    "roles/datastore.owner",                # Firestore database, indexes, TTL field
    "roles/cloudtasks.admin",               # queues and their IAM
    "roles/secretmanager.admin",            # the JWT secrets and their IAM
    "roles/firebasehosting.admin",          # the Hosting site, its deploys, and the Firebase project (firebase.projects.get)
    "roles/serviceusage.serviceUsageAdmin", # apis.tf
    "roles/logging.logWriter",              # build logs
    "roles/iam.serviceAccountCreator",      # the accounts in this file
    "roles/iam.serviceAccountViewer",
  ])
}

resource "google_project_iam_member" "deployer" {
  #checkov:skip=CKV_GCP_42:Admin roles of the services terraform creates resources in, at project level because the resources do not exist before the first apply; no IAM-wide or storage-wide admin is among them.
  for_each = local.deployer_project_roles

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.deployer.email}"
}

# Project IAM admin, limited to granting and revoking the roles above
# (https://cloud.google.com/iam/docs/setting-limits-on-granting-roles).
resource "google_project_iam_member" "deployer_project_iam" {
  #checkov:skip=CKV_GCP_42:Conditioned: the pipeline may only grant or revoke the project roles terraform itself grants.
  project = var.project_id
  role    = "roles/resourcemanager.projectIamAdmin"
  member  = "serviceAccount:${google_service_account.deployer.email}"

  condition {
    title       = "terraform's project roles only"
    description = "Grant or revoke only the project-level roles terraform/iam.tf grants."
    expression  = "api.getAttribute(\"iam.googleapis.com/modifiedGrantsByRole\", []).hasOnly(${jsonencode(local.deployer_grantable_project_roles)})"
  }
}

# Deploying a function as an account, with a build account, or with an Eventarc trigger
# account needs actAs on that account
# (https://cloud.google.com/functions/docs/securing/function-identity#runtime_service_account,
# https://cloud.google.com/run/docs/configuring/services/build-service-account).
resource "google_service_account_iam_member" "deployer_act_as_functions" {
  for_each = google_service_account.function

  service_account_id = each.value.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.deployer.email}"
}

resource "google_service_account_iam_member" "deployer_act_as_builder" {
  service_account_id = google_service_account.builder.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.deployer.email}"
}

resource "google_service_account_iam_member" "deployer_act_as_events" {
  service_account_id = google_service_account.events.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.deployer.email}"
}

# The account bindings terraform sets (actAs on the tasks account, signBlob on the
# upload account) need setIamPolicy on those accounts alone.
resource "google_service_account_iam_member" "deployer_admin_tasks" {
  service_account_id = google_service_account.tasks.name
  role               = "roles/iam.serviceAccountAdmin"
  member             = "serviceAccount:${google_service_account.deployer.email}"
}

resource "google_service_account_iam_member" "deployer_admin_upload" {
  service_account_id = google_service_account.function["upload"].name
  role               = "roles/iam.serviceAccountAdmin"
  member             = "serviceAccount:${google_service_account.deployer.email}"
}

# Storage: the buckets terraform manages (settings and IAM), and the state bucket.
resource "google_storage_bucket_iam_member" "deployer_uploads" {
  bucket = google_storage_bucket.uploads.name
  role   = "roles/storage.admin"
  member = "serviceAccount:${google_service_account.deployer.email}"
}

resource "google_storage_bucket_iam_member" "deployer_sources" {
  bucket = google_storage_bucket.sources.name
  role   = "roles/storage.admin"
  member = "serviceAccount:${google_service_account.deployer.email}"
}

resource "google_storage_bucket_iam_member" "deployer_state" {
  count = var.tf_state_bucket != "" ? 1 : 0

  bucket = var.tf_state_bucket
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.deployer.email}"
}

# The warehouse's table and dataset IAM.
resource "google_bigquery_dataset_iam_member" "deployer_warehouse" {
  dataset_id = google_bigquery_dataset.warehouse.dataset_id
  role       = "roles/bigquery.dataOwner"
  member     = "serviceAccount:${google_service_account.deployer.email}"
}

# People who approve a deploy (cloudbuild_trigger.tf): a build of the trigger waits
# for one of them (https://cloud.google.com/build/docs/securing-builds/gate-builds-on-approval).
resource "google_project_iam_member" "deploy_approvers" {
  for_each = toset(var.deploy_approvers)

  project = var.project_id
  role    = "roles/cloudbuild.builds.approver"
  member  = each.value
}

locals {
  # <prefix>-<environment>: the stem of every resource name in this environment.
  prefix = "${var.name_prefix}-${var.environment}"

  labels = {
    app         = "tidemark"
    environment = var.environment
    managed-by  = "terraform"
  }

  hosting_site_id = var.hosting_site_id != "" ? var.hosting_site_id : "${var.project_id}-${var.environment}"

  # The web app's origins: the only ones a browser may PUT an upload from.
  hosting_origins = concat(
    ["https://${local.hosting_site_id}.web.app", "https://${local.hosting_site_id}.firebaseapp.com"],
    var.extra_cors_origins,
  )

  # Function source folders (functions/<name>/) -> packaged zip.
  function_sources = toset(["auth", "upload", "metrics", "predict"])

  # Python runtime of every function (https://cloud.google.com/run/docs/runtimes/python):
  # within pyproject's requires-python; tests/infra/test_packaging.py installs each
  # function's package on this version (scripts/setup.sh --test finds the interpreter).
  runtime = "python313"

  # Settings every function reads (shared/settings.py, prefix TIDEMARK_). Each function
  # gets these, the sets below that its code needs, and its own names (functions.tf).
  common_environment = {
    TIDEMARK_BACKEND            = "gcp"
    TIDEMARK_LOG_LEVEL          = var.log_level
    TIDEMARK_GCP_PROJECT        = var.project_id
    TIDEMARK_GCP_REGION         = var.region
    TIDEMARK_FIRESTORE_DATABASE = google_firestore_database.main.name
    TIDEMARK_SECRET_PREFIX      = local.prefix
    TIDEMARK_JWT_ISSUER         = "tidemark-${var.environment}"
    TIDEMARK_JWT_AUDIENCE       = "tidemark-api"
    TIDEMARK_MAX_REQUEST_BYTES  = "1048576"
    # Every request reaches the code through Google's front end, which appends the
    # address it was connected from to X-Forwarded-For: the caller on a direct run.app
    # call, Hosting's CDN node on a Hosting rewrite. Entries appended by the CDN's
    # networks are followed one step further left (shared/web/authz.py client_ip).
    # https://cloud.google.com/functions/docs/reference/headers
    TIDEMARK_FORWARDED_BY_FRONT_END = "true"
    TIDEMARK_TRUSTED_PROXY_NETWORKS = join(",", var.trusted_proxy_networks)
  }

  # For the functions that send mail (shared/adapters/smtp.py); the password is read
  # from the secret `smtp-password` (secrets.tf).
  mail_environment = {
    TIDEMARK_MAIL_BACKEND  = "smtp"
    TIDEMARK_MAIL_FROM     = var.mail_from
    TIDEMARK_SMTP_HOST     = var.smtp_host
    TIDEMARK_SMTP_PORT     = tostring(var.smtp_port)
    TIDEMARK_SMTP_SECURITY = var.smtp_port == 465 ? "tls" : "starttls"
    TIDEMARK_SMTP_USERNAME = var.smtp_username
    # The secret's name under the prefix (shared/adapters/local|gcp secret stores).
    TIDEMARK_SMTP_PASSWORD_SECRET = "smtp-password"
    TIDEMARK_SMTP_TIMEOUT_S       = "20"
    TIDEMARK_APP_URL              = var.app_url != "" ? var.app_url : "https://${var.project_id}.web.app"
  }

  # For the functions that query or load the warehouse.
  warehouse_environment = {
    TIDEMARK_WAREHOUSE_DATASET = google_bigquery_dataset.warehouse.dataset_id
    TIDEMARK_WAREHOUSE_TABLE   = google_bigquery_table.business_data.table_id
    TIDEMARK_BQ_LOCATION       = google_bigquery_dataset.warehouse.location
  }

  # For the functions that enqueue tasks (the target URL is added per function).
  tasks_environment = {
    TIDEMARK_TASKS_LOCATION          = google_cloud_tasks_queue.metrics.location
    TIDEMARK_TASKS_QUEUE_METRICS     = google_cloud_tasks_queue.metrics.name
    TIDEMARK_TASKS_QUEUE_FORECAST    = google_cloud_tasks_queue.forecast.name
    TIDEMARK_TASKS_SERVICE_ACCOUNT   = google_service_account.tasks.email
    TIDEMARK_TASK_DISPATCH_TIMEOUT_S = tostring(local.task_timeout_seconds)
  }

  # For the functions that enqueue or run the ingest task.
  ingest_task_environment = {
    TIDEMARK_TASKS_QUEUE_INGEST             = google_cloud_tasks_queue.ingest.name
    TIDEMARK_INGEST_TASK_DISPATCH_TIMEOUT_S = tostring(local.ingest_task_timeout_seconds)
  }

  # For the upload function (signed URLs and ingest).
  uploads_environment = {
    TIDEMARK_UPLOADS_BUCKET          = google_storage_bucket.uploads.name
    TIDEMARK_REJECTED_BUCKET         = google_storage_bucket.rejected.name
    TIDEMARK_SIGNING_SERVICE_ACCOUNT = google_service_account.function["upload"].email
    TIDEMARK_STAGING_BUCKET          = google_storage_bucket.staging.name
    # Whole Parquet row groups per staged shard: one load job takes up to 10,000 source
    # URIs (https://cloud.google.com/bigquery/quotas#load_jobs), so 256 MiB shards keep
    # even the largest upload far below it.
    TIDEMARK_STAGING_SHARD_BYTES = tostring(256 * 1024 * 1024)
    # The largest file one ingest task takes within its deadline (docs/gcp.md,
    # "Staging and splitting").
    TIDEMARK_MAX_UPLOAD_BYTES = tostring(local.max_upload_bytes)
    TIDEMARK_SIGNED_URL_TTL_S = "900"
    TIDEMARK_MAX_REJECT_SHARE = "0.2"
    # Longer than an ingest task may run, so a redelivered task never takes over a live one.
    TIDEMARK_INGEST_LEASE_S = tostring(local.ingest_task_timeout_seconds + 60)
    # Under the function's timeout, with room to stage the file before the load.
    TIDEMARK_WAREHOUSE_LOAD_TIMEOUT_S = tostring(local.warehouse_load_timeout_seconds)
    # Retries of a finalize event stop this long after the upload (shared/uploads/events.py).
    TIDEMARK_INGEST_EVENT_MAX_AGE_S = tostring(local.ingest_event_max_age_seconds)
  }

  # Task functions answer within the queue's dispatch deadline (and so their timeout).
  task_timeout_seconds = 600

  # The longest an event-triggered function may run: 540 s for 2nd gen event functions
  # (https://cloud.google.com/functions/docs/configuring/timeout). The finalize event
  # only claims and enqueues, in seconds; the bound is for a slow backend.
  ingest_timeout_seconds = 540

  # The ingest task: HTTP functions may run up to 60 minutes
  # (https://cloud.google.com/functions/docs/configuring/timeout), but Cloud Tasks waits
  # at most 30 minutes for an HTTP target (Task.dispatchDeadline,
  # https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues.tasks),
  # so the function stops when the queue stops waiting.
  ingest_task_timeout_seconds = 1800

  # The upload cap: the largest file one ingest task takes within its deadline with
  # margin (shared/settings.py max_upload_bytes; the reasoning is in docs/gcp.md).
  max_upload_bytes = 4 * 1024 * 1024 * 1024

  # The ingest's wait for the BigQuery load job (shared/settings.py
  # warehouse_load_timeout_s), inside the function's timeout.
  warehouse_load_timeout_seconds = 300

  # Eventarc retries a failed delivery for up to 24 hours; the ingest stops earlier and
  # marks the upload failed (https://cloud.google.com/functions/docs/writing/retries).
  ingest_event_max_age_seconds = 10800 # 3 hours

  # Firebase Hosting waits 60 s for a rewritten request to a function
  # (https://firebase.google.com/docs/hosting/functions, "60-second request timeout"): the
  # functions behind it stop first and answer with their own error.
  hosting_proxied_timeout_seconds = 60
}

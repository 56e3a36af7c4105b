# Every entry point of shared/catalog.py ENTRY_POINTS, deployed as a 2nd gen function
# named <prefix>-<environment>-<deploy_name>. Task URLs flow one way (forecast-task ->
# metrics -> upload), so there is no cycle: a function is created before the ones
# that enqueue tasks for it.

locals {
  function_build = {
    runtime               = local.runtime
    build_service_account = google_service_account.builder.id
    source_bucket         = google_storage_bucket.sources.name
  }
}

# --- predict ---------------------------------------------------------------------------

# Task target: refit forecasts. Reachable only from inside Google (Cloud Tasks) and
# invokable only with the tasks SA's OIDC token.
module "forecast_task" {
  source = "./modules/function"

  name                  = "${local.prefix}-forecast-task"
  description           = "Task target: fit, backtest and store forecasts for a dataset version."
  region                = var.region
  runtime               = local.function_build.runtime
  build_service_account = local.function_build.build_service_account
  source_bucket         = local.function_build.source_bucket
  source_object         = google_storage_bucket_object.source["predict"].name
  entry_point           = "forecast_task"
  service_account_email = google_service_account.function["predict"].email
  common_environment    = local.common_environment
  environment_sets      = [local.warehouse_environment]

  memory          = "2Gi"
  cpu             = "1"
  timeout_seconds = local.task_timeout_seconds
  max_instances   = 5
  concurrency     = 1
  ingress         = "ALLOW_INTERNAL_ONLY"
  invokers        = { tasks = "serviceAccount:${google_service_account.tasks.email}" }

  depends_on = [google_project_iam_member.builder_logs, google_project_iam_member.builder_images, google_storage_bucket_iam_member.builder_sources]
}

module "predict_http" {
  source = "./modules/function"

  name                  = "${local.prefix}-predict"
  description           = "HTTP API: forecasts with prediction intervals and backtests."
  region                = var.region
  runtime               = local.function_build.runtime
  build_service_account = local.function_build.build_service_account
  source_bucket         = local.function_build.source_bucket
  source_object         = google_storage_bucket_object.source["predict"].name
  entry_point           = "predict_http"
  service_account_email = google_service_account.function["predict"].email
  common_environment    = local.common_environment
  environment_sets      = [local.warehouse_environment]

  memory          = "1Gi"
  cpu             = "1"
  timeout_seconds = local.hosting_proxied_timeout_seconds
  max_instances   = var.max_instances
  concurrency     = 4
  ingress         = "ALLOW_ALL"
  public          = true

  depends_on = [google_project_iam_member.builder_logs, google_project_iam_member.builder_images, google_storage_bucket_iam_member.builder_sources]
}

# --- metrics ---------------------------------------------------------------------------

module "metrics_task" {
  source = "./modules/function"

  name                  = "${local.prefix}-metrics-task"
  description           = "Task target: recompute a dataset's KPI snapshot, then enqueue its forecast."
  region                = var.region
  runtime               = local.function_build.runtime
  build_service_account = local.function_build.build_service_account
  source_bucket         = local.function_build.source_bucket
  source_object         = google_storage_bucket_object.source["metrics"].name
  entry_point           = "metrics_task"
  service_account_email = google_service_account.function["metrics"].email
  common_environment    = local.common_environment
  environment_sets = [local.warehouse_environment, local.tasks_environment,
  local.mail_environment]
  environment = {
    TIDEMARK_FORECAST_TASK_URL = module.forecast_task.uri
  }

  memory          = "1Gi"
  cpu             = "1"
  timeout_seconds = local.task_timeout_seconds
  max_instances   = 10
  concurrency     = 1
  ingress         = "ALLOW_INTERNAL_ONLY"
  invokers        = { tasks = "serviceAccount:${google_service_account.tasks.email}" }

  depends_on = [google_project_iam_member.builder_logs, google_project_iam_member.builder_images, google_storage_bucket_iam_member.builder_sources]
}

module "metrics_http" {
  source = "./modules/function"

  name                  = "${local.prefix}-metrics"
  description           = "HTTP API: KPIs, series, breakdowns and insights, served from snapshots."
  region                = var.region
  runtime               = local.function_build.runtime
  build_service_account = local.function_build.build_service_account
  source_bucket         = local.function_build.source_bucket
  source_object         = google_storage_bucket_object.source["metrics"].name
  entry_point           = "metrics_http"
  service_account_email = google_service_account.function["metrics"].email
  common_environment    = local.common_environment
  environment_sets      = [local.warehouse_environment, local.tasks_environment]
  environment = {
    TIDEMARK_FORECAST_TASK_URL = module.forecast_task.uri
  }

  memory          = "1Gi"
  cpu             = "1"
  timeout_seconds = local.hosting_proxied_timeout_seconds
  max_instances   = var.max_instances
  concurrency     = 8
  ingress         = "ALLOW_ALL"
  public          = true

  depends_on = [google_project_iam_member.builder_logs, google_project_iam_member.builder_images, google_storage_bucket_iam_member.builder_sources]
}

# --- upload ----------------------------------------------------------------------------

module "upload_http" {
  source = "./modules/function"

  name                  = "${local.prefix}-upload"
  description           = "HTTP API: signed upload URLs; list, read and delete uploads."
  region                = var.region
  runtime               = local.function_build.runtime
  build_service_account = local.function_build.build_service_account
  source_bucket         = local.function_build.source_bucket
  source_object         = google_storage_bucket_object.source["upload"].name
  entry_point           = "upload_http"
  service_account_email = google_service_account.function["upload"].email
  common_environment    = local.common_environment
  environment_sets      = [local.warehouse_environment, local.tasks_environment, local.uploads_environment]
  environment = {
    TIDEMARK_METRICS_TASK_URL = module.metrics_task.uri
  }

  memory          = "512Mi"
  cpu             = "1"
  timeout_seconds = local.hosting_proxied_timeout_seconds
  max_instances   = var.max_instances
  concurrency     = 16
  ingress         = "ALLOW_ALL"
  public          = true

  depends_on = [google_project_iam_member.builder_logs, google_project_iam_member.builder_images, google_storage_bucket_iam_member.builder_sources]
}

# Task target: ingest one uploaded file (stream, validate, stage, load, commit), handed
# off by the finalize event. Sized for the pipeline: several vCPU for conversion, memory
# for Arrow's buffers, one ingest per instance. 4 vCPU take 2 to 16 GiB of memory
# (https://cloud.google.com/run/docs/configuring/services/cpu, "CPU and memory table").
module "ingest_task" {
  source = "./modules/function"

  name                  = "${local.prefix}-ingest-task"
  description           = "Task target: ingest an uploaded CSV into the warehouse, exactly once."
  region                = var.region
  runtime               = local.function_build.runtime
  build_service_account = local.function_build.build_service_account
  source_bucket         = local.function_build.source_bucket
  source_object         = google_storage_bucket_object.source["upload"].name
  entry_point           = "ingest_task"
  service_account_email = google_service_account.function["upload"].email
  common_environment    = local.common_environment
  environment_sets      = [local.warehouse_environment, local.tasks_environment, local.uploads_environment, local.ingest_task_environment]
  environment = {
    TIDEMARK_METRICS_TASK_URL = module.metrics_task.uri
  }

  memory          = "4Gi"
  cpu             = "4"
  timeout_seconds = local.ingest_task_timeout_seconds
  max_instances   = 10
  concurrency     = 1
  ingress         = "ALLOW_INTERNAL_ONLY"
  invokers        = { tasks = "serviceAccount:${google_service_account.tasks.email}" }

  depends_on = [google_project_iam_member.builder_logs, google_project_iam_member.builder_images, google_storage_bucket_iam_member.builder_sources]
}

# GCS object.finalized on the uploads bucket -> claim the object generation and enqueue
# its ingest task. Retried on failure (the handler returns normally for events it must
# not retry; every delivery enqueues the same named task).
module "ingest_finalized" {
  source = "./modules/function"

  name                  = "${local.prefix}-ingest"
  description           = "Event: claim a finalized upload and hand it to the ingest task."
  region                = var.region
  runtime               = local.function_build.runtime
  build_service_account = local.function_build.build_service_account
  source_bucket         = local.function_build.source_bucket
  source_object         = google_storage_bucket_object.source["upload"].name
  entry_point           = "ingest_finalized"
  service_account_email = google_service_account.function["upload"].email
  common_environment    = local.common_environment
  environment_sets      = [local.warehouse_environment, local.tasks_environment, local.uploads_environment, local.ingest_task_environment]
  environment = {
    TIDEMARK_INGEST_TASK_URL = module.ingest_task.uri
  }

  # Two document transactions and one enqueue: no file passes through this function.
  memory          = "512Mi"
  cpu             = "1"
  timeout_seconds = local.ingest_timeout_seconds
  max_instances   = 10
  concurrency     = 1
  ingress         = "ALLOW_INTERNAL_ONLY"
  invokers        = { eventarc = "serviceAccount:${google_service_account.events.email}" }

  event_trigger = {
    event_type            = "google.cloud.storage.object.v1.finalized"
    bucket                = google_storage_bucket.uploads.name
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.events.email
  }

  depends_on = [
    google_project_iam_member.builder_logs,
    google_project_iam_member.builder_images,
    google_storage_bucket_iam_member.builder_sources,
    google_project_iam_member.gcs_agent_pubsub_publisher,
    google_project_iam_member.events_receiver,
  ]
}

# --- auth ------------------------------------------------------------------------------

module "auth_http" {
  source = "./modules/function"

  name                  = "${local.prefix}-auth"
  description           = "HTTP API: register, login, refresh, logout, me, invitations."
  region                = var.region
  runtime               = local.function_build.runtime
  build_service_account = local.function_build.build_service_account
  source_bucket         = local.function_build.source_bucket
  source_object         = google_storage_bucket_object.source["auth"].name
  entry_point           = "auth_http"
  service_account_email = google_service_account.function["auth"].email
  common_environment    = local.common_environment
  environment_sets      = [local.mail_environment]
  environment = {
    TIDEMARK_ACCESS_TOKEN_TTL_S  = "900"
    TIDEMARK_REFRESH_TOKEN_TTL_S = tostring(30 * 24 * 3600)
    # argon2id cost (OWASP's 19 MiB, t=2, p=1); memory per hash times concurrency must
    # fit the instance's memory below.
    TIDEMARK_ARGON2_TIME_COST   = "2"
    TIDEMARK_ARGON2_MEMORY_KIB  = "19456"
    TIDEMARK_ARGON2_PARALLELISM = "1"
    # "<attempts>/<window seconds>"
    TIDEMARK_RATE_LOGIN_IP      = "30/300"
    TIDEMARK_RATE_LOGIN_ACCOUNT = "10/900"
    TIDEMARK_RATE_REGISTER_IP   = "10/3600"
    TIDEMARK_RATE_RESET_IP      = "20/3600"
    TIDEMARK_RATE_RESET_ACCOUNT = "5/3600"
    TIDEMARK_RATE_VERIFY_RESEND = "5/3600"
    # Reset links live 30 minutes, confirmation links 48 hours (shared/auth).
    TIDEMARK_PASSWORD_RESET_TTL_S     = tostring(30 * 60)
    TIDEMARK_EMAIL_VERIFICATION_TTL_S = tostring(48 * 3600)
  }

  # argon2id hashing is memory-hard: few requests per instance, room for each.
  memory          = "1Gi"
  cpu             = "1"
  timeout_seconds = 30
  max_instances   = var.max_instances
  concurrency     = 4
  ingress         = "ALLOW_ALL"
  public          = true

  depends_on = [google_project_iam_member.builder_logs, google_project_iam_member.builder_images, google_storage_bucket_iam_member.builder_sources]
}

# Ingest an uploaded file (target: the ingest-task function). The finalize event only
# claims the object and enqueues here, so a large file gets the task's deadline: Cloud
# Tasks waits up to 30 minutes for an HTTP target (Task.dispatchDeadline,
# https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues.tasks);
# the deadline is set per task by shared/adapters/gcp/cloud_tasks.py.
resource "google_cloud_tasks_queue" "ingest" {
  name     = "${local.prefix}-ingest"
  location = var.region

  # One ingest per instance (concurrency 1): the queue, not the function's scaling,
  # bounds how many run at once.
  rate_limits {
    max_dispatches_per_second = 5
    max_concurrent_dispatches = 10
  }

  # A transient failure (503) is retried; a duplicate delivery meets the claim and is
  # retried until the first one ends. Retries stop within the event's own bound.
  retry_config {
    max_attempts       = 10
    min_backoff        = "10s"
    max_backoff        = "600s"
    max_doublings      = 5
    max_retry_duration = "10800s"
  }

  stackdriver_logging_config {
    sampling_ratio = 1.0
  }

  depends_on = [google_project_service.enabled]
}

# Recompute KPIs after a load or a delete (target: the metrics-task function).
resource "google_cloud_tasks_queue" "metrics" {
  name     = "${local.prefix}-metrics"
  location = var.region

  rate_limits {
    max_dispatches_per_second = 10
    max_concurrent_dispatches = 20
  }

  # Transient failures (503 from the target) are retried with exponential backoff;
  # permanent ones answer 2xx and are not retried (shared/web/task_handler.py).
  retry_config {
    max_attempts       = 10
    min_backoff        = "5s"
    max_backoff        = "300s"
    max_doublings      = 5
    max_retry_duration = "3600s"
  }

  stackdriver_logging_config {
    sampling_ratio = 1.0
  }

  depends_on = [google_project_service.enabled]
}

# Refit forecasts after new metrics (target: the forecast-task function). Fitting is
# CPU-heavy, so fewer run at once.
resource "google_cloud_tasks_queue" "forecast" {
  name     = "${local.prefix}-forecast"
  location = var.region

  rate_limits {
    max_dispatches_per_second = 2
    max_concurrent_dispatches = 5
  }

  retry_config {
    max_attempts       = 5
    min_backoff        = "30s"
    max_backoff        = "600s"
    max_doublings      = 4
    max_retry_duration = "7200s"
  }

  stackdriver_logging_config {
    sampling_ratio = 1.0
  }

  depends_on = [google_project_service.enabled]
}

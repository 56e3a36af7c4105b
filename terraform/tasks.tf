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

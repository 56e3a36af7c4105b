# Operations' eyes: log-based metrics on the structured lines the code writes
# (shared/log.py), alert policies on them and on Cloud Tasks' own metrics, an uptime
# check of the API through Hosting, and one dashboard. What fires and what to do:
# docs/operations.md, "Monitoring and alerts".
#
# The functions print one JSON object per line; Cloud Logging lifts `severity` and
# `message` out of it and keeps the other fields under jsonPayload.
# https://cloud.google.com/logging/docs/structured-logging
# 2nd gen functions are Cloud Run services: their logs and metrics carry the
# cloud_run_revision resource, labelled with the service (= function) name.
# https://cloud.google.com/functions/docs/monitoring/logging

resource "google_project_service" "monitoring" {
  project                    = var.project_id
  service                    = "monitoring.googleapis.com"
  disable_on_destroy         = false
  disable_dependent_services = false
}

locals {
  # Log entries of this environment's functions only.
  function_logs = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=~\"^${local.prefix}-\""

  # Cloud Tasks' metrics: https://cloud.google.com/monitoring/api/metrics_gcp#gcp-cloudtasks
  task_queue_filter = "resource.type=\"cloud_tasks_queue\" AND resource.labels.queue_id=monitoring.regex.full_match(\"${local.prefix}-.*\")"

  alert_channels = [for c in google_monitoring_notification_channel.email : c.id]
}

resource "google_monitoring_notification_channel" "email" {
  for_each = toset(var.alert_emails)

  project      = var.project_id
  display_name = "Tidemark ${var.environment} on-call: ${each.value}"
  type         = "email"
  labels       = { email_address = each.value }

  depends_on = [google_project_service.monitoring]
}

# --- log-based metrics -------------------------------------------------------------------
# Counter metrics (DELTA, INT64): one point per matching entry.
# https://cloud.google.com/logging/docs/logs-based-metrics/counter-metrics

# An ingest that ended for good without marking its upload (functions/upload/main.py):
# the upload would stay `processing`. Always a defect or a permission to fix.
resource "google_logging_metric" "ingest_failed_permanently" {
  project     = var.project_id
  name        = "${local.prefix}-ingest-failed-permanently"
  description = "Finalize events the ingest function gave up on (no retry)."
  filter      = "${local.function_logs} AND severity>=WARNING AND jsonPayload.logger=\"tidemark.ingest\" AND jsonPayload.ingest_result=\"failed_permanently\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key        = "code"
      value_type = "STRING"
    }
  }
  label_extractors = { code = "EXTRACT(jsonPayload.code)" }
}

# Uploads marked `failed` with a reason for the user (shared/uploads/job.py): a file the
# ingest could not use. Some are normal; a surge means a regression or a broken client.
resource "google_logging_metric" "uploads_failed" {
  project     = var.project_id
  name        = "${local.prefix}-uploads-failed"
  description = "Uploads the ingest marked failed, by error code."
  filter      = "${local.function_logs} AND jsonPayload.logger=\"tidemark.ingest\" AND jsonPayload.ingest_result=\"upload_failed\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key        = "code"
      value_type = "STRING"
    }
  }
  label_extractors = { code = "EXTRACT(jsonPayload.code)" }
}

# 5xx answers, by function, from the access line every HTTP entry point writes
# (shared/web/http.py, logger tidemark.access).
resource "google_logging_metric" "http_5xx" {
  project     = var.project_id
  name        = "${local.prefix}-http-5xx"
  description = "HTTP answers with a 5xx status, by function."
  filter      = "${local.function_logs} AND jsonPayload.logger=\"tidemark.access\" AND jsonPayload.status>=500"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key        = "function"
      value_type = "STRING"
    }
  }
  label_extractors = { function = "EXTRACT(jsonPayload.function)" }
}

# Dead work: tasks the handler ended for good with a 2xx, so the queue drops them
# (shared/web/task_handler.py): a snapshot or forecast that will not be recomputed.
resource "google_logging_metric" "tasks_failed_permanently" {
  project     = var.project_id
  name        = "${local.prefix}-tasks-failed-permanently"
  description = "Tasks that failed permanently and will not be retried, by function."
  filter      = "${local.function_logs} AND severity>=WARNING AND jsonPayload.logger=\"tidemark.tasks\" AND jsonPayload.task_result=\"failed_permanently\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key        = "function"
      value_type = "STRING"
    }
  }
  label_extractors = { function = "EXTRACT(jsonPayload.function)" }
}

# --- alert policies --------------------------------------------------------------------
# https://cloud.google.com/monitoring/alerts/policies-in-api

resource "google_monitoring_alert_policy" "ingest_failed_permanently" {
  project      = var.project_id
  display_name = "Tidemark ${var.environment}: ingest failed permanently"
  combiner     = "OR"

  conditions {
    display_name = "any permanent ingest failure"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.ingest_failed_permanently.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.code"]
      }
    }
  }

  notification_channels = local.alert_channels
  alert_strategy { auto_close = "86400s" }
  documentation {
    mime_type = "text/markdown"
    content   = "An ingest ended without marking its upload. See docs/operations.md, \"Monitoring and alerts\": ingest failed permanently."
  }
}

resource "google_monitoring_alert_policy" "uploads_failed" {
  project      = var.project_id
  display_name = "Tidemark ${var.environment}: many uploads failing"
  combiner     = "OR"

  conditions {
    display_name = "failed uploads per hour above ${var.alert_failed_uploads_per_hour}"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.uploads_failed.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_failed_uploads_per_hour
      duration        = "0s"
      aggregations {
        alignment_period     = "3600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  notification_channels = local.alert_channels
  alert_strategy { auto_close = "86400s" }
  documentation {
    mime_type = "text/markdown"
    content   = "Uploads are being marked failed faster than usual. See docs/operations.md, \"Monitoring and alerts\": many uploads failing."
  }
}

resource "google_monitoring_alert_policy" "http_5xx" {
  project      = var.project_id
  display_name = "Tidemark ${var.environment}: 5xx answers"
  combiner     = "OR"

  conditions {
    display_name = "5xx per function in 5 minutes above ${var.alert_5xx_per_5m}"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.http_5xx.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_5xx_per_5m
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.function"]
      }
    }
  }

  notification_channels = local.alert_channels
  alert_strategy { auto_close = "3600s" }
  documentation {
    mime_type = "text/markdown"
    content   = "A function is answering 5xx. See docs/operations.md, \"Monitoring and alerts\": 5xx answers."
  }
}

resource "google_monitoring_alert_policy" "tasks_failed_permanently" {
  project      = var.project_id
  display_name = "Tidemark ${var.environment}: tasks failed permanently"
  combiner     = "OR"

  conditions {
    display_name = "any task ended for good"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.tasks_failed_permanently.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.function"]
      }
    }
  }

  notification_channels = local.alert_channels
  alert_strategy { auto_close = "86400s" }
  documentation {
    mime_type = "text/markdown"
    content   = "A metrics or forecast task failed for good. See docs/operations.md, \"Monitoring and alerts\": tasks failed permanently."
  }
}

# Attempts the target did not answer with success: each is a retry to come (or a task
# that exhausted its retries, terraform/tasks.tf retry_config).
resource "google_monitoring_alert_policy" "task_retries" {
  project      = var.project_id
  display_name = "Tidemark ${var.environment}: task attempts failing"
  combiner     = "OR"

  conditions {
    display_name = "failed attempts per queue in 10 minutes above ${var.alert_task_failed_attempts_per_10m}"
    condition_threshold {
      filter          = "metric.type=\"cloudtasks.googleapis.com/queue/task_attempt_count\" AND ${local.task_queue_filter} AND metric.labels.response_code!=\"ok\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_task_failed_attempts_per_10m
      duration        = "0s"
      aggregations {
        alignment_period     = "600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.queue_id"]
      }
    }
  }

  notification_channels = local.alert_channels
  alert_strategy { auto_close = "3600s" }
  documentation {
    mime_type = "text/markdown"
    content   = "Task attempts are failing and being retried. See docs/operations.md, \"Monitoring and alerts\": task attempts failing."
  }
}

# Age of work: how late attempts run after their scheduled time, and work piling up.
resource "google_monitoring_alert_policy" "task_backlog" {
  project      = var.project_id
  display_name = "Tidemark ${var.environment}: task queue falling behind"
  combiner     = "OR"

  conditions {
    display_name = "attempts run more than ${var.alert_task_delay_s} s late (p99)"
    condition_threshold {
      filter          = "metric.type=\"cloudtasks.googleapis.com/queue/task_attempt_delays\" AND ${local.task_queue_filter}"
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_task_delay_s * 1000 # the metric is in milliseconds
      duration        = "600s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_PERCENTILE_99"
        cross_series_reducer = "REDUCE_MAX"
        group_by_fields      = ["resource.label.queue_id"]
      }
    }
  }

  conditions {
    display_name = "more than ${var.alert_task_queue_depth} tasks waiting for 30 minutes"
    condition_threshold {
      filter          = "metric.type=\"cloudtasks.googleapis.com/queue/depth\" AND ${local.task_queue_filter}"
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_task_queue_depth
      duration        = "1800s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_MAX"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.queue_id"]
      }
    }
  }

  notification_channels = local.alert_channels
  alert_strategy { auto_close = "3600s" }
  documentation {
    mime_type = "text/markdown"
    content   = "Tasks are waiting longer than they should. See docs/operations.md, \"Monitoring and alerts\": task queue falling behind."
  }
}

# --- uptime ---------------------------------------------------------------------------
# Each API function's health route, through Hosting (the path users take), from
# several regions. https://cloud.google.com/monitoring/uptime-checks
resource "google_monitoring_uptime_check_config" "health" {
  for_each = toset(var.uptime_check_paths)

  project      = var.project_id
  display_name = "Tidemark ${var.environment} ${each.value}"
  timeout      = "10s"
  period       = "300s"

  http_check {
    path           = each.value
    port           = 443
    use_ssl        = true
    validate_ssl   = true
    request_method = "GET"
    accepted_response_status_codes {
      status_class = "STATUS_CLASS_2XX"
    }
  }

  content_matchers {
    content = "\"status\":\"ok\""
    matcher = "CONTAINS_STRING"
  }

  monitored_resource {
    type = "uptime_url"
    labels = {
      project_id = var.project_id
      host       = "${local.hosting_site_id}.web.app"
    }
  }

  depends_on = [google_project_service.monitoring]
}

resource "google_monitoring_alert_policy" "uptime" {
  project      = var.project_id
  display_name = "Tidemark ${var.environment}: API health check failing"
  combiner     = "OR"

  dynamic "conditions" {
    for_each = google_monitoring_uptime_check_config.health
    content {
      display_name = "${conditions.key} failing from more than one region"
      condition_threshold {
        filter          = "metric.type=\"monitoring.googleapis.com/uptime_check/check_passed\" AND resource.type=\"uptime_url\" AND metric.labels.check_id=\"${conditions.value.uptime_check_id}\""
        comparison      = "COMPARISON_GT"
        threshold_value = 1
        duration        = "600s"
        aggregations {
          alignment_period     = "1200s"
          per_series_aligner   = "ALIGN_NEXT_OLDER"
          cross_series_reducer = "REDUCE_COUNT_FALSE"
          group_by_fields      = ["resource.label.host"]
        }
      }
    }
  }

  notification_channels = local.alert_channels
  alert_strategy { auto_close = "3600s" }
  documentation {
    mime_type = "text/markdown"
    content   = "An API health route does not answer through Hosting. See docs/operations.md, \"Monitoring and alerts\": API health check failing."
  }
}

# --- dashboard ------------------------------------------------------------------------
resource "google_monitoring_dashboard" "operations" {
  project = var.project_id
  dashboard_json = templatefile("${path.module}/dashboards/operations.json.tftpl", {
    environment           = var.environment
    prefix                = local.prefix
    ingest_failed_metric  = google_logging_metric.ingest_failed_permanently.name
    uploads_failed_metric = google_logging_metric.uploads_failed.name
    http_5xx_metric       = google_logging_metric.http_5xx.name
    tasks_failed_metric   = google_logging_metric.tasks_failed_permanently.name
  })

  depends_on = [google_project_service.monitoring]
}

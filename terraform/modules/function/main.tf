# A Cloud Functions (2nd gen) function from a packaged zip, with its invoker bindings.

resource "google_cloudfunctions2_function" "this" {
  #checkov:skip=CKV_GCP_124:Ingress is chosen per function: ALLOW_ALL only for the public HTTP API that Firebase Hosting and integrators reach over the internet; task and event functions are ALLOW_INTERNAL_ONLY.
  name        = var.name
  location    = var.region
  description = var.description

  build_config {
    runtime         = var.runtime
    entry_point     = var.entry_point
    service_account = var.build_service_account

    source {
      storage_source {
        bucket = var.source_bucket
        object = var.source_object
      }
    }
  }

  service_config {
    service_account_email            = var.service_account_email
    available_memory                 = var.memory
    available_cpu                    = var.cpu
    timeout_seconds                  = var.timeout_seconds
    min_instance_count               = var.min_instances
    max_instance_count               = var.max_instances
    max_instance_request_concurrency = var.concurrency
    ingress_settings                 = var.ingress
    all_traffic_on_latest_revision   = true
    environment_variables            = merge(concat([var.common_environment], var.environment_sets, [var.environment])...)
  }

  dynamic "event_trigger" {
    for_each = var.event_trigger == null ? [] : [var.event_trigger]
    content {
      trigger_region        = var.region
      event_type            = event_trigger.value.event_type
      retry_policy          = event_trigger.value.retry_policy
      service_account_email = event_trigger.value.service_account_email

      event_filters {
        attribute = "bucket"
        value     = event_trigger.value.bucket
      }
    }
  }
}

resource "google_cloud_run_v2_service_iam_member" "invoker" {
  for_each = var.invokers

  location = var.region
  name     = google_cloudfunctions2_function.this.service_config[0].service
  role     = "roles/run.invoker"
  member   = each.value
}

# The public HTTP API: Firebase Hosting rewrites and integrators' scripts call it with
# no Google identity, so Cloud Run cannot authenticate them; every route authenticates
# its caller itself with the bearer JWT (shared/web/authz.py) and answers 401 otherwise.
resource "google_cloud_run_v2_service_iam_member" "public" {
  count = var.public ? 1 : 0

  location = var.region
  name     = google_cloudfunctions2_function.this.service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}

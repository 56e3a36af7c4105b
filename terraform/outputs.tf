output "hosting_url" {
  description = "The web app's URL (Firebase Hosting)."
  value       = google_firebase_hosting_site.web.default_url
}

output "hosting_site_id" {
  description = "Firebase Hosting site to deploy frontend/ to."
  value       = google_firebase_hosting_site.web.site_id
}

output "api_base_url" {
  description = "Base URL of the HTTP API, through Hosting's rewrites."
  value       = "${google_firebase_hosting_site.web.default_url}/api"
}

output "hosting_rewrites" {
  description = "Rewrites for frontend/firebase.json (path -> function id and region)."
  value       = local.hosting_rewrites
}

output "function_urls" {
  description = "Direct HTTPS endpoint of every deployed function."
  value = {
    auth          = module.auth_http.uri
    upload        = module.upload_http.uri
    ingest        = module.ingest_finalized.uri
    ingest-task   = module.ingest_task.uri
    metrics       = module.metrics_http.uri
    metrics-task  = module.metrics_task.uri
    predict       = module.predict_http.uri
    forecast-task = module.forecast_task.uri
  }
}

output "uploads_bucket" {
  value = google_storage_bucket.uploads.name
}

output "sources_bucket" {
  value = google_storage_bucket.sources.name
}

output "warehouse_table" {
  value = "${var.project_id}.${google_bigquery_dataset.warehouse.dataset_id}.${google_bigquery_table.business_data.table_id}"
}

output "task_queues" {
  value = {
    metrics  = google_cloud_tasks_queue.metrics.id
    forecast = google_cloud_tasks_queue.forecast.id
  }
}

output "jwt_secrets" {
  description = "Secret ids to seed with `tidemark keys rotate` (TIDEMARK_SECRET_PREFIX below)."
  value = {
    signing_keys  = google_secret_manager_secret.jwt_signing_keys.secret_id
    public_keys   = google_secret_manager_secret.jwt_public_keys.secret_id
    secret_prefix = local.prefix
  }
}

output "service_accounts" {
  value = merge(
    { for k, sa in google_service_account.function : k => sa.email },
    {
      tasks   = google_service_account.tasks.email
      events  = google_service_account.events.email
      builder = google_service_account.builder.email
    },
  )
}

output "name" {
  value = google_cloudfunctions2_function.this.name
}

output "uri" {
  description = "The function's Cloud Run URI: its HTTPS endpoint and the OIDC audience of task calls."
  value       = google_cloudfunctions2_function.this.service_config[0].uri
}

output "service" {
  value = google_cloudfunctions2_function.this.service_config[0].service
}

# Firebase Hosting serves the static web app (frontend/) and rewrites /api/** to the
# functions. The rewrites themselves live in frontend/firebase.json; Cloud Build fills
# in each function id and region from the `hosting_rewrites` output before deploying.

resource "google_firebase_project" "main" {
  provider = google-beta
  project  = var.project_id

  depends_on = [google_project_service.enabled]
}

resource "google_firebase_hosting_site" "web" {
  provider = google-beta
  project  = var.project_id
  site_id  = local.hosting_site_id

  depends_on = [google_firebase_project.main]
}

locals {
  # Hosting path -> the function that serves it (entry points of shared/catalog.py).
  hosting_rewrites = [
    { source = "/api/auth/**", function = { functionId = module.auth_http.name, region = var.region } },
    { source = "/api/uploads/**", function = { functionId = module.upload_http.name, region = var.region } },
    { source = "/api/metrics/**", function = { functionId = module.metrics_http.name, region = var.region } },
    { source = "/api/predictions/**", function = { functionId = module.predict_http.name, region = var.region } },
  ]
}

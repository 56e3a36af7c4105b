# Uploaded CSVs (uploads/<tenant>/<upload_id>.csv, written by browsers through V4
# signed URLs), intermediate ingest files (staging/) and quarantined rows (rejected/).
resource "google_storage_bucket" "uploads" {
  #checkov:skip=CKV_GCP_62:Object access is recorded by Cloud Audit Logs (data access); a separate access-log bucket would only duplicate it.
  name                        = "${var.project_id}-${local.prefix}-uploads"
  location                    = upper(var.region)
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  # Browsers PUT the file straight to the bucket, from the web app's origins only.
  cors {
    origin          = local.hosting_origins
    method          = ["PUT", "OPTIONS"]
    response_header = ["Content-Type", "x-goog-content-length-range", "x-goog-resumable"]
    max_age_seconds = 3600
  }

  lifecycle_rule {
    condition {
      age            = var.staging_retention_days
      matches_prefix = ["staging/"]
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      age            = var.rejected_retention_days
      matches_prefix = ["rejected/"]
    }
    action {
      type = "Delete"
    }
  }

  # Versioning guards against an accidental overwrite or delete; old versions go after a week.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 7
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      age = 1
    }
    action {
      type = "AbortIncompleteMultipartUpload"
    }
  }

  depends_on = [google_project_service.enabled]
}

# Packaged function sources (build/functions/<name>.zip), read by Cloud Build.
resource "google_storage_bucket" "sources" {
  #checkov:skip=CKV_GCP_62:Only Cloud Build reads this bucket; its reads are in Cloud Audit Logs.
  name                        = "${var.project_id}-${local.prefix}-sources"
  location                    = upper(var.region)
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}

# One object per function source; the zip's MD5 is in the name, so a changed package
# is a new object and the functions that use it are rebuilt, and an unchanged one
# (packaging is reproducible) redeploys nothing.
resource "google_storage_bucket_object" "source" {
  for_each = local.function_sources

  bucket       = google_storage_bucket.sources.name
  name         = "functions/${each.key}/${filemd5("${path.module}/${var.functions_build_dir}/${each.key}.zip")}.zip"
  source       = "${path.module}/${var.functions_build_dir}/${each.key}.zip"
  content_type = "application/zip"
}

# Uploaded CSVs (uploads/<tenant>/<upload_id>.csv, written by browsers through V4
# signed URLs). Nothing else is written here: every object finalized in this bucket
# triggers the ingest function (quarantined rows go to the rejected bucket, staged
# Parquet shards to the staging bucket below).
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

# Quarantined rows of each ingest (rejected/<tenant>/<upload_id>.csv), written by the
# ingest and read back for the rejected-rows download (both the upload function's
# account). A bucket of their own: a Cloud Storage trigger fires for every object
# finalized in its bucket, and the trigger filters by bucket only
# (https://cloud.google.com/run/docs/triggering/storage-triggers), so objects written
# next to the uploads would each be a billed ingest invocation.
resource "google_storage_bucket" "rejected" {
  #checkov:skip=CKV_GCP_62:Object access is recorded by Cloud Audit Logs (data access); a separate access-log bucket would only duplicate it.
  #checkov:skip=CKV_GCP_78:Each upload's rejected rows are rewritten whole by its ingest and deleted with it; old versions would only outlive a deleted upload.
  name                        = "${var.project_id}-${local.prefix}-rejected"
  location                    = upper(var.region)
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  lifecycle_rule {
    condition {
      age = var.rejected_retention_days
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}

# The upload function's account writes, reads (the download) and deletes (with the
# upload) the rejected rows: the same object role it holds on the uploads bucket.
resource "google_storage_bucket_iam_member" "upload_rejected_objects" {
  bucket = google_storage_bucket.rejected.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.function["upload"].email}"
}

# Parquet shards between an ingest task's staging and its BigQuery load
# (staging/<upload_id>/<generation>/..., shared/uploads/staging.py). BigQuery reads them
# server-side (https://cloud.google.com/bigquery/docs/loading-data-cloud-storage-parquet),
# so it sits in the dataset's location: a load from Cloud Storage needs the bucket in the
# dataset's region or multi-region. The ingest deletes the shards after its commit; the
# lifecycle rule is the backstop for a crash between the two. No finalize notification:
# nothing listens to this bucket.
resource "google_storage_bucket" "staging" {
  #checkov:skip=CKV_GCP_62:Object access is recorded by Cloud Audit Logs (data access); a separate access-log bucket would only duplicate it.
  #checkov:skip=CKV_GCP_78:Shards are rewritten whole under deterministic names and deleted within the day; old versions would only outlive them.
  name                        = "${var.project_id}-${local.prefix}-staging"
  location                    = upper(var.region)
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  lifecycle_rule {
    condition {
      age = var.staging_retention_days
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

# The ingest (the upload function's account) writes, lists and deletes the shards;
# BigQuery reads them as the account that runs the load job, this same account
# (https://cloud.google.com/bigquery/docs/loading-data-cloud-storage-parquet#required_permissions:
# storage.objects.get, and storage.objects.list for a wildcard, which is not used).
resource "google_storage_bucket_iam_member" "upload_staging_objects" {
  bucket = google_storage_bucket.staging.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.function["upload"].email}"
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

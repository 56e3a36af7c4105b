resource "google_bigquery_dataset" "warehouse" {
  #checkov:skip=CKV_GCP_81:Encrypted at rest with Google-managed keys; CMEK is not required for this data.
  dataset_id                 = replace(local.prefix, "-", "_")
  friendly_name              = "Tidemark ${var.environment}"
  description                = "Tidemark warehouse: the canonical business_data table."
  location                   = var.bq_location
  delete_contents_on_destroy = false

  depends_on = [google_project_service.enabled]
}

# The schema comes from the same source of truth as the code: shared/schema.py ->
# schema/business_data.json (scripts/generate_schema.py; a test checks it is current).
resource "google_bigquery_table" "business_data" {
  #checkov:skip=CKV_GCP_80:Encrypted at rest with Google-managed keys; CMEK is not required for this data.
  dataset_id          = google_bigquery_dataset.warehouse.dataset_id
  table_id            = "business_data"
  description         = "One row per ingested CSV line, scoped by tenant_id and dataset_id."
  schema              = file("${path.module}/../schema/business_data.json")
  deletion_protection = true

  # Monthly: shared/schema.py PARTITION_TYPE says why (BigQuery's partition limits).
  time_partitioning {
    type  = "MONTH"
    field = "occurred_date"
  }

  clustering = ["tenant_id", "dataset_id"]
}

resource "google_bigquery_dataset" "warehouse" {
  #checkov:skip=CKV_GCP_81:Encrypted at rest with Google-managed keys; CMEK is not required for this data.
  dataset_id                 = replace(local.prefix, "-", "_")
  friendly_name              = "Tidemark ${var.environment}"
  description                = "Tidemark warehouse: one business_data_<tenant> table per tenant, and the empty business_data template."
  location                   = var.bq_location
  delete_contents_on_destroy = false

  depends_on = [google_project_service.enabled]
}

# The schema comes from the same source of truth as the code: shared/schema.py ->
# schema/business_data.json (scripts/generate_schema.py; a test checks it is current).
#
# Rows are not loaded here: each tenant's rows go to a table of its own,
# business_data_<tenant key>, same schema, created by the upload function on the
# tenant's first load (its dataEditor role on the dataset carries bigquery.tables.create)
# and clustered by dataset_id, occurred_date. Why: the quota model in docs/gcp.md,
# "Warehouse layout and BigQuery quotas". This table stays empty: it is the schema of
# record, and what a tenant without loads is read from.
resource "google_bigquery_table" "business_data" {
  #checkov:skip=CKV_GCP_80:Encrypted at rest with Google-managed keys; CMEK is not required for this data.
  dataset_id          = google_bigquery_dataset.warehouse.dataset_id
  table_id            = "business_data"
  description         = "Empty template of the per-tenant business_data_<tenant> tables."
  schema              = file("${path.module}/../schema/business_data.json")
  deletion_protection = true

  # Monthly: shared/schema.py PARTITION_TYPE says why (BigQuery's partition limits).
  time_partitioning {
    type  = "MONTH"
    field = "occurred_date"
  }

  clustering = ["tenant_id", "dataset_id"]
}

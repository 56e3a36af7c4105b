variable "project_id" {
  description = "Google Cloud project that hosts one Tidemark environment."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a valid project ID (6-30 lowercase letters, digits, hyphens)."
  }
}

variable "region" {
  description = "Region of the functions, the uploads bucket, the task queues and the finalize trigger."
  type        = string
  default     = "europe-west1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1."
  }
}

variable "environment" {
  description = "Deployment environment; part of every resource name."
  type        = string
  default     = "dev"

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be one of dev, staging, prod."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (resources are named <prefix>-<environment>-<role>)."
  type        = string
  default     = "tidemark"

  validation {
    # Service account ids are at most 30 characters: <prefix>-staging-builder must fit.
    condition     = can(regex("^[a-z][a-z0-9]{1,11}$", var.name_prefix))
    error_message = "name_prefix must be 2-12 lowercase letters or digits, starting with a letter."
  }
}

variable "bq_location" {
  description = "BigQuery dataset location (multi-region or region)."
  type        = string
  default     = "EU"

  validation {
    condition     = length(var.bq_location) > 0
    error_message = "bq_location must not be empty."
  }
}

variable "firestore_location" {
  description = "Firestore database location (for example eur3, nam5 or a region). Fixed once created."
  type        = string
  default     = "eur3"

  validation {
    condition     = can(regex("^[a-z0-9-]+$", var.firestore_location))
    error_message = "firestore_location must be a Firestore location id such as eur3."
  }
}

variable "hosting_site_id" {
  description = "Firebase Hosting site id (globally unique). Empty: <project_id>-<environment>."
  type        = string
  default     = ""

  validation {
    condition     = var.hosting_site_id == "" || can(regex("^[a-z0-9][a-z0-9-]{4,61}[a-z0-9]$", var.hosting_site_id))
    error_message = "hosting_site_id must be 6-63 lowercase letters, digits or hyphens."
  }
}

variable "extra_cors_origins" {
  description = "Further origins (custom domains of the web app) allowed to PUT uploads."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for o in var.extra_cors_origins : can(regex("^https://[a-z0-9.-]+(:[0-9]+)?$", o))])
    error_message = "Each extra CORS origin must be an https origin without a path."
  }
}

variable "functions_build_dir" {
  description = "Directory holding the packaged function zips (scripts/package_functions.py output), relative to this directory."
  type        = string
  default     = "../build/functions"
}

variable "log_level" {
  description = "Log level of every function."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "max_instances" {
  description = "Upper bound on instances per HTTP API function (a cost and abuse ceiling)."
  type        = number
  default     = 20

  validation {
    condition     = var.max_instances >= 1 && var.max_instances <= 1000
    error_message = "max_instances must be between 1 and 1000."
  }
}

variable "staging_retention_days" {
  description = "Days before Parquet shards an ingest left in the staging bucket are deleted."
  type        = number
  default     = 1

  validation {
    condition     = var.staging_retention_days >= 1
    error_message = "staging_retention_days must be at least 1."
  }
}

variable "rejected_retention_days" {
  description = "Days before quarantined rows in the rejected bucket are deleted."
  type        = number
  default     = 30

  validation {
    condition     = var.rejected_retention_days >= 1
    error_message = "rejected_retention_days must be at least 1."
  }
}

variable "key_rotation_members" {
  description = "IAM members (for example group:ops@example.com) allowed to rotate the JWT signing keys with `tidemark keys rotate`."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.key_rotation_members : can(regex("^(user|group|serviceAccount):", m))])
    error_message = "Each member must start with user:, group: or serviceAccount:."
  }
}

variable "trusted_proxy_networks" {
  description = "CIDRs of Firebase Hosting's CDN nodes. A request whose right-most X-Forwarded-For entry (appended by Google's front end) is in one of them came through a Hosting rewrite, and the entry the CDN appended before it names the caller (docs/auth.md, \"Client addresses\"). Default: the CDN's published ranges, https://api.fastly.com/public-ip-list."
  type        = list(string)
  default = [
    "23.235.32.0/20", "43.249.72.0/22", "103.244.50.0/24", "103.245.222.0/23",
    "103.245.224.0/24", "104.156.80.0/20", "140.248.64.0/18", "140.248.128.0/17",
    "146.75.0.0/17", "151.101.0.0/16", "157.52.64.0/18", "167.82.0.0/17",
    "167.82.128.0/20", "167.82.160.0/20", "167.82.224.0/20", "172.111.64.0/18",
    "185.31.16.0/22", "199.27.72.0/21", "199.232.0.0/16", "2a04:4e40::/32",
    "2a04:4e42::/32",
  ]

  validation {
    condition     = alltrue([for n in var.trusted_proxy_networks : can(cidrhost(n, 0))])
    error_message = "Each entry must be a CIDR block, for example 151.101.0.0/16."
  }
}

variable "alert_emails" {
  description = "Email addresses that receive the monitoring alerts (terraform/monitoring.tf; docs/operations.md, \"Monitoring and alerts\"). Empty: alerts open incidents in the console only."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "Each entry must be an email address."
  }
}

variable "uptime_check_paths" {
  description = "Health routes checked through Hosting, one uptime check each."
  type        = list(string)
  default     = ["/api/auth/health", "/api/uploads/health", "/api/metrics/health", "/api/predictions/health"]
}

variable "alert_5xx_per_5m" {
  description = "5xx answers one function may give in 5 minutes before an alert."
  type        = number
  default     = 5
}

variable "alert_failed_uploads_per_hour" {
  description = "Uploads that may be marked failed in an hour before an alert (users' bad files are normal; a surge is not)."
  type        = number
  default     = 20
}

variable "alert_task_failed_attempts_per_10m" {
  description = "Failed task attempts (to be retried) one queue may see in 10 minutes before an alert."
  type        = number
  default     = 10
}

variable "alert_task_delay_s" {
  description = "Seconds an attempt may run after its scheduled time (p99) before an alert."
  type        = number
  default     = 600
}

variable "alert_task_queue_depth" {
  description = "Tasks that may wait in one queue for 30 minutes before an alert."
  type        = number
  default     = 200
}

variable "smtp_host" {
  description = "SMTP relay for account and alert mail (port 587 with STARTTLS, or 465 with TLS). Empty: no mail is sent, and requests that must send one answer 503 mail_unavailable."
  type        = string
  default     = ""
}

variable "smtp_port" {
  description = "SMTP relay port: 587 (STARTTLS) or 465 (TLS). Port 25 is blocked on Google Cloud."
  type        = number
  default     = 587
  validation {
    condition     = contains([465, 587, 2525], var.smtp_port)
    error_message = "smtp_port must be 465, 587 or 2525 (port 25 is blocked on Google Cloud)."
  }
}

variable "smtp_username" {
  description = "User the relay is signed in to; its password is the secret <prefix>-smtp-password."
  type        = string
  default     = ""
}

variable "mail_from" {
  description = "From address of the mail the product sends."
  type        = string
  default     = "Tidemark <no-reply@tidemark.invalid>"
}

variable "app_url" {
  description = "Public URL of the web app, for links in mail. Empty: https://<project>.web.app (Firebase Hosting's default domain)."
  type        = string
  default     = ""
}

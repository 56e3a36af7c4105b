variable "name" {
  description = "Cloud Functions (and Cloud Run service) name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,61}[a-z0-9]$", var.name))
    error_message = "name must be a valid function name (lowercase letters, digits, hyphens)."
  }
}

variable "description" {
  type    = string
  default = ""
}

variable "region" {
  type = string
}

variable "runtime" {
  description = "Python runtime ID; the project supports 3.11 (requires-python) and later, as Cloud Run functions offers them GA (https://cloud.google.com/run/docs/runtimes/python)."
  type        = string

  validation {
    condition     = contains(["python311", "python312", "python313"], var.runtime)
    error_message = "runtime must be python311, python312 or python313."
  }
}

variable "entry_point" {
  description = "The decorated function in the source's main.py (shared/catalog.py)."
  type        = string
}

variable "source_bucket" {
  type = string
}

variable "source_object" {
  type = string
}

variable "build_service_account" {
  description = "Fully qualified id (projects/.../serviceAccounts/...) of the build identity."
  type        = string
}

variable "service_account_email" {
  description = "Runtime identity of the function."
  type        = string
}

variable "common_environment" {
  description = "Settings every function gets."
  type        = map(string)
}

variable "environment_sets" {
  description = "Further groups of settings this function's code needs (merged in order)."
  type        = list(map(string))
  default     = []
}

variable "environment" {
  description = "This function's own settings; they win over the groups."
  type        = map(string)
  default     = {}
}

variable "memory" {
  type = string
}

variable "cpu" {
  type = string
}

variable "timeout_seconds" {
  type = number
}

variable "min_instances" {
  type    = number
  default = 0
}

variable "max_instances" {
  type = number
}

variable "concurrency" {
  description = "Requests one instance serves at once."
  type        = number
  default     = 1
}

variable "ingress" {
  type = string

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.ingress)
    error_message = "ingress must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "public" {
  description = "Whether anyone may invoke the function (the public HTTP API behind Hosting)."
  type        = bool
  default     = false
}

variable "invokers" {
  description = "Members allowed to invoke the function, keyed by a static label."
  type        = map(string)
  default     = {}
}

variable "event_trigger" {
  description = "Eventarc trigger for a Cloud Storage bucket, or null for an HTTP function."
  type = object({
    event_type            = string
    bucket                = string
    retry_policy          = string
    service_account_email = string
  })
  default = null
}

# The deploy pipeline: cloudbuild.yaml (test -> package -> terraform plan/apply ->
# Hosting) on each push to the deploy branch, as the deployer account (iam.tf), and
# only once someone holding roles/cloudbuild.builds.approver has approved the build
# (https://cloud.google.com/build/docs/securing-builds/gate-builds-on-approval).
# docs/operations.md ("Continuous deploys") has the approval steps.

variable "deploy_repo_owner" {
  description = "GitHub owner of the repository the deploy trigger builds (connected to Cloud Build)."
  type        = string
  default     = ""
}

variable "deploy_repo_name" {
  description = "GitHub repository the deploy trigger builds."
  type        = string
  default     = ""
}

variable "deploy_branch" {
  description = "Branch whose pushes start a deploy (a regular expression, anchored)."
  type        = string
  default     = "^main$"
}

variable "tf_state_bucket" {
  description = "Bucket holding terraform state (created once by hand, docs/operations.md); the deploy pipeline gets object access to it."
  type        = string
  default     = ""
}

variable "deploy_approvers" {
  description = "Members (user:, group:) who may approve a deploy build."
  type        = list(string)
  default     = []
}

resource "google_cloudbuild_trigger" "deploy" {
  # No trigger until a repository is connected; the pipeline can still be run by hand.
  count = var.deploy_repo_name != "" ? 1 : 0

  name            = "${local.prefix}-deploy"
  location        = "global"
  description     = "Tidemark ${var.environment}: test, package, terraform apply, Hosting deploy."
  filename        = "cloudbuild.yaml"
  service_account = google_service_account.deployer.id

  github {
    owner = var.deploy_repo_owner
    name  = var.deploy_repo_name
    push {
      branch = var.deploy_branch
    }
  }

  substitutions = {
    _ENVIRONMENT     = var.environment
    _REGION          = var.region
    _NAME_PREFIX     = var.name_prefix
    _TF_STATE_BUCKET = var.tf_state_bucket
  }

  # Every build of this trigger waits for an approver before its first step runs, so
  # `terraform apply` never runs unattended.
  approval_config {
    approval_required = true
  }
}

"""What terraform grants each identity, as permissions at a scope.

Reads every `*_iam_member` resource in terraform/ (and the invoker bindings the function
module makes from each call's `invokers`), names the identity it grants to, the
resource it grants on and the role, and expands the role through
tests/data/gcp-iam/roles.json (or a custom role declared in terraform). An IAM condition
of the form `resource.name.startsWith("...")` narrows a project grant to the resources
whose full name starts so, which is how a grant can reach a bucket terraform does not
create (https://cloud.google.com/iam/docs/conditions-resource-attributes#resource-name).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest

from tests.infra.gcp_permissions import Need, Resource
from tests.infra.terraform_config import Config, load, service_account_of

# Google's IAM reference data (tests/data/gcp-iam: a copy of the iam-dataset project's
# roles and method permissions, MIT; its README says which commit) unless
# TIDEMARK_GCP_IAM_DATA names another copy.
IAM_DATA = Path(os.environ.get("TIDEMARK_GCP_IAM_DATA",
                               Path(__file__).resolve().parents[1] / "data" / "gcp-iam"))
ROLES = IAM_DATA / "roles.json"


def require_iam_data() -> None:
    """Skip a test that needs the reference data when it is absent; under CI fail."""
    if not ROLES.exists():
        from tests.support.environment import IN_CI

        reason = f"Google IAM reference data not found at {IAM_DATA} (TIDEMARK_GCP_IAM_DATA)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)

SCOPE_OF = {
    "google_project_iam_member": "project",
    "google_storage_bucket_iam_member": "bucket",
    "google_bigquery_dataset_iam_member": "dataset",
    "google_cloud_tasks_queue_iam_member": "queue",
    "google_service_account_iam_member": "service_account",
    "google_secret_manager_secret_iam_member": "secret",
}
_TARGET_ATTR = {"bucket": "bucket", "dataset": "dataset_id", "queue": "name",
                "service_account": "service_account_id", "secret": "secret_id"}
_REF = re.compile(r"\$\{(google_[a-z_0-9]+\.[a-z_0-9]+(?:\[\"[a-z_]+\"\])?)\.|"
                  r"\$\{(var\.[a-z_0-9]+)\}")
_PREFIX = re.compile(r'resource\.name\.startsWith\("(?P<p>[^"]+)"\)')
FUNCTIONS = ("auth", "upload", "metrics", "predict")
GCS_AGENT = "gcs_agent"


@dataclass(frozen=True)
class Grant:
    identity: str
    role: str
    target: str          # "project", or the terraform address of the resource
    name_prefix: str     # "" unless an IAM condition narrows a project grant
    address: str         # the terraform resource that makes the grant
    custom: frozenset[str] | None   # a custom role's permissions, from terraform
    grantable: tuple[str, ...] | None = None   # an IAM admin limited to these roles

    @property
    def permissions(self) -> frozenset[str]:
        if self.custom is not None:
            return self.custom
        try:
            return predefined_roles()[self.role]
        except KeyError:
            raise AssertionError(f"role {self.role} is in neither roles.json nor "
                                 f"terraform") from None


@lru_cache(maxsize=1)
def predefined_roles() -> dict[str, frozenset[str]]:
    require_iam_data()
    roles = json.loads(ROLES.read_text(encoding="utf-8"))["roles"]
    return {name: frozenset(r["permissions"]) for name, r in roles.items()}


def custom_role(cfg: Config, role: str) -> frozenset[str] | None:
    """The permissions of a custom role declared in terraform; None for a predefined one."""
    if role.startswith("${google_project_iam_custom_role."):
        name = role.split(".")[1]
        return frozenset(cfg.resources[("google_project_iam_custom_role", name)]["permissions"])
    for body in cfg.of_type("google_project_iam_custom_role").values():
        if role.endswith("/" + body["role_id"]):
            return frozenset(body["permissions"])
    return None


def _identities(member: str) -> list[str]:
    if "google_storage_project_service_account.gcs_agent" in member:
        return [GCS_AGENT]
    if not member.startswith("serviceAccount:"):
        return []
    sa = service_account_of(member)
    if sa is None:
        return []
    return list(FUNCTIONS) if sa == "*" else [sa]


def _target(scope: str, body: dict) -> str:
    if scope == "project":
        return "project"
    m = _REF.search(body.get(_TARGET_ATTR[scope]) or "")
    assert m, f"cannot tell what {body.get(_TARGET_ATTR[scope])!r} grants on"
    return m.group(1) or m.group(2)


PROJECT_NUMBER = "123456789012"   # stands for data.google_project.*.number
_GRANTS_BY_ROLE = re.compile(r"modifiedGrantsByRole\", \[\]\)\.hasOnly\((?P<roles>.+)\)$")


def _condition(body: dict) -> str:
    cond = body.get("condition")
    if not cond:
        return ""
    cond = cond[0] if isinstance(cond, list) else cond
    return re.sub(r"\$\{data\.google_project\.[a-z_]+\.number\}", PROJECT_NUMBER,
                  cond.get("expression", ""))


def _condition_prefix(body: dict) -> str:
    expr = _condition(body)
    if not expr or _GRANTS_BY_ROLE.search(expr):
        return ""
    m = _PREFIX.search(expr)
    assert m, f"an IAM condition this model cannot read: {expr!r}"
    return m["p"]


def _grantable(cfg: Config, body: dict) -> tuple[str, ...] | None:
    """The roles a conditioned IAM-admin grant may grant or revoke; None if unlimited
    (https://cloud.google.com/iam/docs/setting-limits-on-granting-roles)."""
    m = _GRANTS_BY_ROLE.search(_condition(body))
    if not m:
        return None
    roles = m["roles"]
    if local := re.fullmatch(r"\$\{jsonencode\(local\.([a-z_]+)\)\}", roles):
        roles = str(cfg.locals[local.group(1)])
    return tuple(re.findall(r"roles/[A-Za-z0-9_.]+", roles))


def _instances(cfg: Config, body: dict) -> list[dict]:
    """The resource's instances: for_each over the function accounts or over a list
    of literal strings (a local or an inline toset) is expanded; `each.value` in the
    body is replaced by the instance's value."""
    each = body.get("for_each")
    if not each:
        return [body]
    if each == "${google_service_account.function}":
        values = [f'google_service_account.function["{fn}"]' for fn in FUNCTIONS]
        return [_substitute(body, "each.value", v) for v in values]
    m = re.fullmatch(r"\$\{local\.([a-z_]+)\}", each)
    text = cfg.locals[m.group(1)] if m else each
    if "var." in text:
        return []   # members from a variable are people, not the accounts modelled here
    return [_substitute(body, "${each.value}", v) for v in re.findall(r'"([^"]+)"', text)]


def _substitute(body: dict, old: str, new: str) -> dict:
    return {k: v.replace(old, new) if isinstance(v, str) else v for k, v in body.items()
            if k != "for_each"}


def grants(cfg: Config | None = None) -> list[Grant]:
    cfg = cfg or load()
    out: list[Grant] = []
    for (rtype, name), resource in cfg.resources.items():
        scope = SCOPE_OF.get(rtype)
        if scope is None or "role" not in resource:
            continue
        for body in _instances(cfg, resource):
            for ident in _identities(body["member"]):
                out.append(Grant(ident, body["role"], _target(scope, body),
                                 _condition_prefix(body), f"{rtype}.{name}",
                                 custom_role(cfg, body["role"]), _grantable(cfg, body)))
    # The module grants roles/run.invoker on its Cloud Run service to each invoker.
    for mod_name, call in cfg.modules.items():
        for member in (call.get("invokers") or {}).values():
            for ident in _identities(member):
                out.append(Grant(ident, "roles/run.invoker", f"module.{mod_name}", "",
                                 f"module.{mod_name}.invoker", None))
    return out


def of(identity: str, cfg: Config | None = None) -> list[Grant]:
    return [g for g in grants(cfg) if g.identity == identity]


def covers(grant: Grant, address: str, full_name: str = "") -> bool:
    """Does the grant reach the resource? A project grant is inherited by every
    resource in the project (https://cloud.google.com/iam/docs/resource-hierarchy-access-control);
    a conditioned one only by the resources whose name starts with its prefix."""
    if grant.target == "project":
        return not grant.name_prefix or full_name.startswith(grant.name_prefix)
    return grant.target == address


def missing(identity: str, wanted: list[Need], bind: dict[Resource, str],
            full_names: dict[Resource, str] | None = None,
            cfg: Config | None = None) -> list[str]:
    """The needs no grant of the identity satisfies, as readable lines. `bind` names the
    terraform resource each recorded resource stands for."""
    mine = of(identity, cfg)
    full_names = full_names or {}
    out = []
    for need in wanted:
        address = "project" if need.resource.kind == "project" else bind.get(need.resource)
        assert address, f"{need.resource} is not bound to a terraform resource"
        ok = any(p in g.permissions and covers(g, address, full_names.get(need.resource, ""))
                 for g in mine for p in need.anyof)
        if not ok:
            out.append(f"{identity}: {need.method} needs {' or '.join(need.anyof)} "
                       f"on {need.resource} ({address})")
    return sorted(set(out))


def unused(identity: str, wanted: list[Need], bind: dict[Resource, str],
           cfg: Config | None = None,
           full_names: dict[Resource, str] | None = None) -> dict[str, set[str]]:
    """grant address -> the permissions it gives that no need used."""
    used: dict[str, set[str]] = {}
    mine = of(identity, cfg)
    full_names = full_names or {}
    for need in wanted:
        address = "project" if need.resource.kind == "project" else bind.get(need.resource, "")
        for g in mine:
            if covers(g, address, full_names.get(need.resource, "")):
                used.setdefault(g.address, set()).update(set(need.anyof) & g.permissions)
    return {g.address: set(g.permissions) - used.get(g.address, set()) for g in mine}

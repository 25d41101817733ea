"""The offline plan of both stacks: what a reviewer checks before a change merges."""

from __future__ import annotations

import json

import pytest

from blueprint import policies
from blueprint.config import load_file
from blueprint.offline import plan as plan_mod
from tests.conftest import REPO, plan_of, resources_of, stack_raw, write_stack

ACCOUNT = "aws:organizations/account:Account"
OU = "aws:organizations/organizationalUnit:OrganizationalUnit"
POLICY = "aws:organizations/policy:Policy"
ATTACH = "aws:organizations/policyAttachment:PolicyAttachment"
ORG = "aws:organizations/organization:Organization"


def cfg_of(stack):
    return load_file(REPO / f"Pulumi.{stack}.yaml")


def ou_paths_by_id(doc) -> dict[str, str]:
    ous = resources_of(doc, OU)
    by_id = {r["id"]: r for r in ous}

    def path(r):
        parent = by_id.get(r["inputs"]["parentId"])
        return (path(parent) + "/" if parent else "") + r["inputs"]["name"]

    return {r["id"]: path(r) for r in ous}


def test_plan_is_clean(plan):
    # Only findings waived in the stack file (policy_exemptions: reason and end date) may remain.
    assert [f for f in plan["findings"] if not f.get("waived")] == []
    assert plan["summary"]["resources"] > 20


def test_organization_enables_everything_later_capabilities_need(plan):
    (org,) = resources_of(plan, ORG)
    assert org["inputs"]["featureSet"] == "ALL"
    assert set(org["inputs"]["enabledPolicyTypes"]) == {
        "SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY", "TAG_POLICY", "DECLARATIVE_POLICY_EC2"
    }
    principals = set(org["inputs"]["awsServiceAccessPrincipals"])
    for needed in (
        "cloudtrail.amazonaws.com", "config.amazonaws.com", "config-multiaccountsetup.amazonaws.com",
        "guardduty.amazonaws.com", "securityhub.amazonaws.com", "inspector2.amazonaws.com",
        "access-analyzer.amazonaws.com", "sso.amazonaws.com", "member.org.stacksets.cloudformation.amazonaws.com",
        "ram.amazonaws.com", "imagebuilder.amazonaws.com",
    ):
        assert needed in principals
    assert org["protect"] and org["retain_on_delete"]


def test_ou_tree_matches_config_including_nesting(plan):
    cfg = cfg_of(plan["stack"])
    assert sorted(ou_paths_by_id(plan).values()) == sorted(cfg.ou_paths())


def test_every_account_exists_in_its_ou_and_cannot_be_lost(plan):
    cfg = cfg_of(plan["stack"])
    paths = ou_paths_by_id(plan)
    accounts = {r["inputs"]["name"]: r for r in resources_of(plan, ACCOUNT)}
    assert sorted(accounts) == sorted(a.name for a in cfg.accounts())
    for spec in cfg.accounts():
        r = accounts[spec.name]
        assert paths[r["inputs"]["parentId"]] == spec.ou
        assert r["inputs"]["email"] == spec.email
        assert r["protect"], spec.name
        assert r["retain_on_delete"], spec.name
        assert r["inputs"]["closeOnDeletion"] is False
        assert {"name", "email", "roleName", "iamUserAccessToBilling", "parentId"} <= set(r["ignore_changes"])
        if spec.team:
            assert r["inputs"]["tags"]["team"] == spec.team_name
            assert r["inputs"]["tags"]["environment"] == spec.environment


def test_environments_are_isolated_in_separate_ous(plan):
    paths = ou_paths_by_id(plan)
    envs = {}
    for r in resources_of(plan, ACCOUNT):
        env = r["inputs"]["tags"].get("environment")
        if env:
            envs.setdefault(env, set()).add(paths[r["inputs"]["parentId"]])
    assert envs["dev"] == {"Workloads/Dev"} and envs["prod"] == {"Workloads/Prod"}


def attached(plan) -> dict[tuple[str, str], list[dict]]:
    """(target path or "account:<name>", policy type) -> policy resources attached there."""
    paths = ou_paths_by_id(plan)
    paths |= {r["id"]: "account:" + r["inputs"]["name"] for r in resources_of(plan, ACCOUNT)}
    policies_by_id = {r["id"]: r for r in resources_of(plan, POLICY)}
    out: dict[tuple[str, str], list[dict]] = {}
    for a in resources_of(plan, ATTACH):
        target = paths.get(a["inputs"]["targetId"], "Root")
        p = policies_by_id[a["inputs"]["policyId"]]
        out.setdefault((target, p["inputs"]["type"]), []).append(p)
    return out


def test_guardrails_are_attached_where_config_says(plan):
    cfg = cfg_of(plan["stack"])
    got = attached(plan)
    for kind, aws_type in policies.AWS_TYPES.items():
        for target, ids in getattr(cfg.guardrails, kind).items():
            docs = [json.loads(p["inputs"]["content"]) for p in got[(target, aws_type)]]
            for gid in ids:
                src = policies.load(kind, gid)
                if aws_type in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"):
                    deployed = [s for d in docs for s in d["Statement"]]
                    for stmt in src["Statement"]:
                        # Present under its Sid, or merged into a statement holding its actions.
                        acts = {stmt["Action"]} if isinstance(stmt.get("Action"), str) else set(stmt.get("Action") or [])
                        assert any(
                            d.get("Sid") == stmt["Sid"]
                            or (acts and acts <= set([d["Action"]] if isinstance(d.get("Action"), str) else d.get("Action", [])) and d["Effect"] == stmt["Effect"])
                            for d in deployed
                        ), f"{gid}:{stmt['Sid']} missing at {target}"
                else:
                    body_key = "tags" if kind == "tag_policies" else "ec2_attributes"
                    keys = {k for d in docs for k in d[body_key]}
                    assert set(src[body_key]) <= keys, f"{gid} missing at {target}"
    # and nothing is attached that config did not ask for (besides each team's own tag policy)
    asked = {(t, policies.AWS_TYPES[k]) for k in policies.AWS_TYPES for t in getattr(cfg.guardrails, k)}
    asked |= {(f"account:{a.name}", "TAG_POLICY") for a in cfg.accounts() if a.team}
    assert set(got) == asked


def test_each_team_account_allows_only_its_own_team_and_cost_center(plan):
    cfg = cfg_of(plan["stack"])
    got = attached(plan)
    for acct in cfg.accounts():
        if not acct.team:
            continue
        (policy,) = got[(f"account:{acct.name}", "TAG_POLICY")]
        tags = json.loads(policy["inputs"]["content"])["tags"]
        team = next(t for t in cfg.teams if t.key == acct.team)
        assert tags["team"]["tag_value"]["@@assign"] == team.names
        assert tags["cost-center"]["tag_value"]["@@assign"] == [team.cost_center]


def test_policies_are_within_size_and_attachment_limits(plan):
    cfg = cfg_of(plan["stack"])
    limits = cfg.organization.policy_limits
    for p in resources_of(plan, POLICY):
        kind = {v: k for k, v in policies.AWS_TYPES.items()}[p["inputs"]["type"]]
        limit = getattr(limits, policies.LIMIT_FIELDS[kind])
        content = p["inputs"]["content"]
        assert len(content) <= limit.max_chars, p["name"]
        assert content == policies.minify(json.loads(content)), "minified"
        assert "${" not in content, "every placeholder filled"
    for (target, aws_type), ps in attached(plan).items():
        kind = {v: k for k, v in policies.AWS_TYPES.items()}[aws_type]
        reserved = 1 if kind in policies.DEFAULT_ATTACHED else 0
        assert len(ps) + reserved <= getattr(limits, policies.LIMIT_FIELDS[kind]).max_per_target


def test_placeholders_are_filled_with_real_ids(plan):
    accounts = {r["inputs"]["name"]: r["id"] for r in resources_of(plan, ACCOUNT)}
    cfg = cfg_of(plan["stack"])
    (org,) = resources_of(plan, ORG)
    factory = accounts[cfg.shared_accounts.image_factory.name]
    contents = " ".join(p["inputs"]["content"] for p in resources_of(plan, POLICY))
    assert factory in contents
    assert org["id"] in contents
    assert "000000000000" not in contents and "o-xxxx" not in contents, "no stand-in leaked into a deployed policy"


def test_policy_waits_for_org_policy_types_and_attachment_for_its_target(plan):
    (org,) = resources_of(plan, ORG)
    ous = {r["id"]: r["urn"] for r in resources_of(plan, OU)}
    for p in resources_of(plan, POLICY):
        assert org["urn"] in p["dependencies"]
    policy_urns = {r["id"]: r["urn"] for r in resources_of(plan, POLICY)}
    for a in resources_of(plan, ATTACH):
        assert policy_urns[a["inputs"]["policyId"]] in a["dependencies"]
        if a["inputs"]["targetId"] in ous:
            assert ous[a["inputs"]["targetId"]] in a["dependencies"]


def test_prod_is_stricter_than_sandbox(plan):
    got = attached(plan)

    def sids(target):
        return {s.get("Sid") for p in got.get((target, "SERVICE_CONTROL_POLICY"), []) for s in json.loads(p["inputs"]["content"])["Statement"]}

    assert sids("Workloads/Prod") & {s["Sid"] for s in policies.load("service_control_policies", "approved-amis-only")["Statement"]}
    assert not sids("Sandbox") & {s["Sid"] for s in policies.load("service_control_policies", "approved-amis-only")["Statement"]}
    assert sids("Sandbox") & {s["Sid"] for s in policies.load("service_control_policies", "sandbox-cost-guard")["Statement"]}


def test_plan_files_have_the_documented_shape(tmp_path, stack):
    code, doc = plan_of(stack)
    json_path, md_path = plan_mod.write(doc, tmp_path)
    data = json.loads(json_path.read_text())
    assert set(data) >= {"stack", "resources", "summary", "findings"}
    assert set(data["summary"]) >= {"resources", "providers", "by_type"}
    for r in data["resources"]:
        assert set(r) >= {"urn", "type", "name", "parent", "provider", "inputs", "protect", "dependencies"}
    md = md_path.read_text()
    assert "```mermaid" in md and "graph LR" in md
    for a in resources_of(doc, ACCOUNT):
        assert f'("{a["inputs"]["name"]}")' in md
    assert "Offline plan" in md


def test_plan_is_deterministic(stack):
    _, first = plan_of(stack)
    _, again = plan_mod.plan_stack(stack)
    before = {r["urn"]: json.dumps(r, sort_keys=True) for r in first["resources"]}
    after = {r["urn"]: json.dumps(r, sort_keys=True) for r in again["resources"]}
    changed = sorted(u for u in before.keys() | after.keys() if before.get(u) != after.get(u))
    assert not changed, [(u, before.get(u), after.get(u)) for u in changed[:2]]
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)


def test_provider_count_is_reported(plan):
    assert plan["summary"]["providers"] >= 1


def test_exit_code_2_on_config_error_and_nothing_registers(tmp_path, capsys, monkeypatch):
    raw = stack_raw("dev")
    raw["teams"][0]["environments"] = ["staging"]
    path = write_stack(tmp_path / "Pulumi.broken.yaml", raw)
    from blueprint.offline import runtime

    called = []
    monkeypatch.setattr(plan_mod, "run_program", lambda *a, **k: called.append(a) or [])
    assert plan_mod.main(["--stack", "broken", "--file", str(path), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Pulumi.broken.yaml: teams[0].environments[0]: 'staging' is not one of dev, test, prod" in err
    assert called == [], "bad config never reaches resource registration"
    del runtime


def test_exit_code_1_when_guardrails_cannot_fit(tmp_path, capsys):
    raw = stack_raw("dev")
    raw["organization"]["policy_limits"] = {"service_control_policy": {"max_chars": 2000, "max_per_target": 2}}
    path = write_stack(tmp_path / "Pulumi.tight.yaml", raw)
    assert plan_mod.main(["--stack", "tight", "--file", str(path), "--out", str(tmp_path), "--quiet"]) == 1
    data = json.loads((tmp_path / "plan-tight.json").read_text())
    (first, *_) = data["findings"]
    assert first["severity"] == "mandatory" and first["rule"] == "guardrail-limits"
    assert "service_control_policies at 'Root'" in first["message"] and "over by" in first["message"]


def test_old_5120_limits_still_plan_by_packing(tmp_path):
    """An org on the pre-2026 limits gets more, smaller policies; still within 5 per target."""
    raw = stack_raw("prod")
    raw["organization"]["policy_limits"] = {"service_control_policy": {"max_chars": 5120, "max_per_target": 5}}
    path = write_stack(tmp_path / "Pulumi.old.yaml", raw)
    code, doc = plan_mod.plan_stack("old", path)
    assert code == 0, doc["findings"]
    for g in doc["guardrails"]:
        if g["type"] == "SERVICE_CONTROL_POLICY":
            assert g["slots_used"] <= 5
            assert all(p["chars"] <= 5120 for p in g["policies"])


def test_decommissioned_account_moves_to_suspended_and_closes_only_when_removed(tmp_path):
    raw = stack_raw("prod")
    raw["teams"][4]["decommission"] = ["dev"]  # mobile-dev
    path = write_stack(tmp_path / "Pulumi.decom.yaml", raw)
    code, doc = plan_mod.plan_stack("decom", path)
    assert code == 0, doc["findings"]
    paths = ou_paths_by_id(doc)
    acct = next(r for r in resources_of(doc, ACCOUNT) if r["inputs"]["name"] == "mobile-dev")
    assert paths[acct["inputs"]["parentId"]] == "Suspended"
    assert acct["protect"], "still protected: closing needs `pulumi state unprotect` on purpose"
    assert acct["inputs"]["closeOnDeletion"] is True and not acct["retain_on_delete"]
    assert "parentId" not in acct["ignore_changes"]
    other = next(r for r in resources_of(doc, ACCOUNT) if r["inputs"]["name"] == "mobile-prod")
    assert other["inputs"]["closeOnDeletion"] is False and other["retain_on_delete"]


# ---- nothing lost by a config edit: a rename, a pipeline block removed -------------------
# Three teams with pipelines (one of each source and platform) and one without: all of prod's
# kinds of team resources, in fewer resources than the whole stack.
EDIT_TEAMS = ("payments", "checkout", "identity", "mobile")
# Inputs that only label a resource (updated in place); everything else names or configures it.
DISPLAY_INPUTS = ("description", "displayName")


def _edited_plan(tmp_path_factory, name: str, edit) -> dict:
    raw = stack_raw("prod")
    raw["teams"] = [t for t in raw["teams"] if t["name"] in EDIT_TEAMS]
    edit({t["name"]: t for t in raw["teams"]})
    # One stack name for all: it is part of every URN.
    code, doc = plan_mod.plan_stack("edit", write_stack(tmp_path_factory.mktemp(name) / "Pulumi.edit.yaml", raw))
    assert code != plan_mod.EXIT_CONFIG, doc.get("config_errors")
    return doc


@pytest.fixture(scope="module")
def edits(tmp_path_factory) -> dict[str, dict]:
    """One base plan and its edits, planned once for every test below."""

    def rename(teams):
        teams["payments"] |= {"name": "billing", "previous_names": ["payments"]}  # a pipeline team, once
        teams["checkout"] |= {"name": "storefront", "previous_names": ["checkout"]}
        teams["mobile"] |= {"name": "phones", "previous_names": ["mobile", "apps"]}  # twice: the oldest name stays the key

    def drop_pipelines(teams):
        for t in ("checkout", "identity"):  # a CodeCommit repository and an S3 source bucket
            del teams[t]["pipeline"]

    return {
        "base": _edited_plan(tmp_path_factory, "base", lambda teams: None),
        "renamed": _edited_plan(tmp_path_factory, "renamed", rename),
        "no-pipelines": _edited_plan(tmp_path_factory, "nopipe", drop_pipelines),
    }


def _without_display(r: dict) -> dict:
    """A resource's inputs minus what only labels it: the team tag, descriptions, the team tag policy's values."""
    inputs = {k: v for k, v in r["inputs"].items() if k not in DISPLAY_INPUTS and k not in r["ignore_changes"]}
    if "tags" in inputs:
        inputs["tags"] = {k: v for k, v in inputs["tags"].items() if k != "team"}
    if r["type"] == POLICY and inputs.get("type") == "TAG_POLICY":
        content = json.loads(inputs["content"])
        content["tags"].get("team", {}).pop("tag_value", None)
        inputs["content"] = content
    if r["type"] == "aws:codepipeline/pipeline:Pipeline":
        inputs["stages"] = json.loads(json.dumps(inputs["stages"]))
        for stage in inputs["stages"]:
            for action in stage["actions"]:
                action.get("configuration", {}).pop("CustomData", None)  # the approval request's text
    return {"inputs": inputs, **{k: r[k] for k in ("type", "provider", "protect", "retain_on_delete", "ignore_changes", "import_id")}}


def test_a_renamed_team_keeps_every_resource_and_changes_only_labels(edits):
    # Offline ids come from the config key (the identity), so a renamed team's accounts keep theirs.
    base, head = edits["base"], edits["renamed"]
    assert not [f for f in head["findings"] if f["severity"] == "mandatory"]
    before = {r["urn"]: r for r in base["resources"]}
    after = {r["urn"]: r for r in head["resources"]}
    # A resource missing under its URN may be carried by an alias (a URN, or a name of the same type).
    aliased = {a if a.startswith("urn:") else (r["type"], a) for r in head["resources"] for a in r["aliases"]}
    deleted = [u for u, r in before.items() if u not in after and u not in aliased and (r["type"], r["name"]) not in aliased]
    created = sorted(set(after) - set(before))
    assert deleted == [] and created == [], (deleted, created)
    # Nothing that names or configures a resource changes, so nothing is replaced: only labels do.
    replaced = [u for u in before if _without_display(before[u]) != _without_display(after[u])]
    assert replaced == [], [(u, _without_display(before[u])["inputs"], _without_display(after[u])["inputs"]) for u in replaced[:1]]
    relabelled = {before[u]["type"].split(":")[1] for u in before if before[u]["inputs"] != after[u]["inputs"]}
    assert relabelled >= {"organizations/account", "organizations/policy", "iam/role", "kms/key", "s3/bucket", "cloudwatch/logGroup",
                          "codebuild/project", "codecommit/repository", "codepipeline/pipeline", "sns/topic"}, relabelled
    tags = {r["inputs"]["tags"]["team"] for r in head["resources"] if "team" in (r["inputs"].get("tags") or {})}
    assert {"billing", "storefront", "phones"} <= tags and not tags & {"payments", "checkout", "mobile"}
    # The team tag policy allows every name the team has had (current first).
    phones = next(json.loads(r["inputs"]["content"]) for r in head["resources"] if r["name"] == "org-guardrails-tag-team-mobile-1")
    assert phones["tags"]["team"]["tag_value"]["@@assign"] == ["phones", "apps", "mobile"]


def test_removing_a_pipeline_block_leaves_its_data_behind_and_blocks_nothing(edits):
    from blueprint.offline.checks import data_types

    base, head = edits["base"], edits["no-pipelines"]
    after = {r["urn"] for r in head["resources"]}
    gone = [r for r in base["resources"] if r["urn"] not in after]
    left_behind = [r for r in gone if r["type"] in data_types()]
    assert {r["type"].split(":")[1] for r in left_behind} == {
        "s3/bucket", "kms/key", "cloudwatch/logGroup", "codecommit/repository", "sns/topic", "codepipeline/pipeline"}
    # Retained: `pulumi up` forgets them and deletes nothing...
    assert all(r["retain_on_delete"] for r in left_behind), [r["name"] for r in left_behind if not r["retain_on_delete"]]
    # ...and nothing removed is protected, which would stop `pulumi up` half way.
    assert [r["name"] for r in gone if r["protect"]] == []
    # Per team: artifact bucket, source repository or bucket, 3 keys, build logs, 2 topics, the pipeline.
    assert len(left_behind) == 2 * 9
    # A bucket left behind keeps its settings: still private, encrypted, versioned and TLS-only.
    settings = [r for r in gone if "blueprint:storage:SecureBucket$" in r["urn"] and r["custom"]]
    assert len(settings) > 2 * 7 and all(r["retain_on_delete"] for r in settings)
    assert not [f for f in head["findings"] if f["severity"] == "mandatory"]


def test_team_roles_are_exempted_by_path_never_by_name_in_shared_guardrails():
    _, doc = plan_of("prod")
    shared = " ".join(r["inputs"]["content"] for r in doc["resources"]
                      if r["type"] == "aws:organizations/policy:Policy" and r["inputs"]["type"] == "SERVICE_CONTROL_POLICY")
    assert "PaymentsIncident" not in shared and "IdentityKeyRotation" not in shared
    assert "arn:aws:iam::*:role/secure-org/break-glass/*" in shared and "arn:aws:iam::*:role/secure-org/exempt/*" in shared
    # The path itself is protected: only exempt principals create or change roles under it.
    critical = [json.loads(r["inputs"]["content"]) for r in doc["resources"]
                if r["type"] == "aws:organizations/policy:Policy" and "ProtectCriticalRoles" in r["inputs"]["content"]]
    (stmt,) = [s for d in critical for s in d["Statement"] if s["Sid"] == "ProtectCriticalRoles"]
    assert "arn:aws:iam::*:role/secure-org/*" in stmt["Resource"]


def test_shared_guardrails_do_not_grow_with_teams():
    """The Root and OU SCPs of 1 team and of 300 teams (each with break-glass and exempt roles) are identical."""
    from blueprint import guardrails
    from blueprint.config import parse

    def shared_docs(teams: int) -> dict:
        raw = stack_raw("prod")
        raw["teams"] = [{"name": f"team-{i:03d}", "owner_email": f"t{i}@acme.example", "cost_center": "CC-1",
                         "environments": ["dev", "test", "prod"], "break_glass_roles": [f"Team{i}Incident"], "exempt_roles": ["Rotation"]}
                        for i in range(teams)]
        cfg = parse(raw, "Pulumi.prod.yaml")
        return {(tp.kind, tp.target): [tp.packed.document(i, tp.values) for i in range(len(tp.packed.bins))]
                for tp in guardrails.plan(cfg) if not tp.target.startswith("team:")}

    assert shared_docs(1) == shared_docs(300)


def test_advisory_when_global_service_events_cannot_be_seen(tmp_path):
    raw = stack_raw("dev")
    raw["organization"]["allowed_regions"] = ["us-west-2"]
    raw["organization"]["home_region"] = "us-west-2"
    code, doc = plan_mod.plan_stack("west", write_stack(tmp_path / "Pulumi.west.yaml", raw))
    assert code == 0, "advisory findings do not fail the plan"
    (f,) = [f for f in doc["findings"] if f["rule"] == "global-events-region"]
    assert f["severity"] == "advisory" and "us-east-1" in f["message"]


def test_a_data_resource_neither_protected_nor_retained_is_a_mandatory_finding(edits):
    import copy

    from blueprint.offline import checks

    resources = copy.deepcopy(edits["base"]["resources"])
    bucket = next(r for r in resources if r["name"] == "org-delivery-checkout-artifacts-bucket")
    trail = next(r for r in resources if r["type"] == "aws:cloudtrail/trail:Trail")
    assert checks.run(cfg_of("prod"), resources) == []
    trail["protect"] = False  # still retained: enough
    bucket["retain_on_delete"] = False
    assert [(f["rule"], f["urn"], f["severity"]) for f in checks.run(cfg_of("prod"), resources)] == [
        ("data-retained", bucket["urn"], "mandatory")]

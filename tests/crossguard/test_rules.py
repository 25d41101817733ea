"""Every rule has a failing and a passing fixture; rules survive unknown (preview) values."""

from __future__ import annotations

import copy
import json
import re
from typing import Any, Iterator

import pytest

from blueprint.crossguard import engine, rules
from blueprint.crossguard.documents import UNKNOWN, is_scoped, principal_account, tokens
from blueprint.crossguard.rules import Context, Resource, Settings

from .fixtures import RESOURCE_CASES, STACK_CASES, Case, StackCase

RULES = rules.by_name()


def run_case(case: Case) -> list[str]:
    ctx = Context(case.type, "res", "urn:pulumi:test::secure-org::x::res", case.ctx.get("protect", False),
                  case.ctx.get("account_id"), case.ctx.get("settings", Settings()))
    rule = RULES[case.rule]
    assert rule.kind == "resource"
    return engine.check_resource(rule, case.props, ctx)


def run_stack_case(case: StackCase) -> list[tuple[Resource | None, str]]:
    rule = RULES[case.rule]
    assert rule.kind == "stack"
    return engine.check_stack(rule, case.resources, case.settings)


@pytest.mark.parametrize("case", RESOURCE_CASES, ids=str)
def test_resource_rule(case: Case) -> None:
    found = run_case(case)
    assert all("could not evaluate" not in m for m in found), found
    if case.fails:
        assert found, f"{case} should be a violation"
    else:
        assert found == [], f"{case} should pass: {found}"


@pytest.mark.parametrize("case", STACK_CASES, ids=str)
def test_stack_rule(case: StackCase) -> None:
    found = run_stack_case(case)
    assert all("could not evaluate" not in m for _, m in found), found
    if case.fails:
        assert found, f"{case} should be a violation"
        assert all(r is not None and r.urn for r, _ in found), "stack findings name the resource"
    else:
        assert found == [], f"{case} should pass: {found}"


def test_every_rule_has_failing_and_passing_fixtures() -> None:
    seen: dict[str, set[bool]] = {}
    for case in [*RESOURCE_CASES, *STACK_CASES]:
        seen.setdefault(case.rule, set()).add(case.fails)
    missing = {r.name: {True, False} - seen.get(r.name, set()) for r in rules.RULES}
    assert {k: v for k, v in missing.items() if v} == {}


def test_rule_catalogue() -> None:
    assert len(rules.RULES) >= 25
    names = [r.name for r in rules.RULES]
    assert len(names) == len(set(names))
    assert not set(names) & set(rules.META_RULES)
    for r in rules.RULES:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", r.name), r.name
        assert r.level in ("mandatory", "advisory")
        assert r.types and all(re.fullmatch(r"aws:[a-zA-Z0-9]+/[a-zA-Z0-9]+:[A-Za-z0-9]+", t) for t in r.types), r.types
        # the description names the Security Hub control / checkov check it matches, or says there is none
        for ref in (*r.sechub, *r.checkov):
            assert ref.split(" ")[0] in r.description
        assert r.sechub or r.checkov or r.config_rule or "no Security Hub control or checkov check" in r.description
        assert "Security Hub" in r.description or "checkov" in r.description, r.name


def test_rules_module_does_not_import_pulumi_policy() -> None:
    import blueprint.crossguard.documents as documents

    for mod in (rules, documents, engine):
        src = open(mod.__file__).read()
        assert "import pulumi_policy" not in src and "from pulumi_policy" not in src, mod.__name__


# ---------------------------------------------------------------------------
# Unknown values (pulumi preview): no rule crashes, and a fully unknown input never fails
# ---------------------------------------------------------------------------

def _leaf_paths(value: Any, path: tuple = ()) -> Iterator[tuple]:
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaf_paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaf_paths(v, (*path, i))


def _replace(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    out = copy.copy(value)
    out[path[0]] = _replace(value[path[0]], path[1:], new)
    return out


@pytest.mark.parametrize("case", RESOURCE_CASES, ids=str)
def test_resource_rules_tolerate_unknowns(case: Case) -> None:
    rule = RULES[case.rule]
    ctx = Context(case.type, "res", "urn", case.ctx.get("protect", False), case.ctx.get("account_id"), case.ctx.get("settings", Settings()))
    variants = [_replace(case.props, p, UNKNOWN) for p in _leaf_paths(case.props) if p]
    # JSON documents: the whole string unknown is what preview sends
    for p in _leaf_paths(case.props):
        if p:
            variants.append(_replace(case.props, p, None))
    for props in variants:
        result = rule.check(props, ctx)  # directly: an exception here is a bug
        assert isinstance(result, list)


@pytest.mark.parametrize("case", STACK_CASES, ids=str)
def test_stack_rules_tolerate_unknowns(case: StackCase) -> None:
    rule = RULES[case.rule]
    for i, res in enumerate(case.resources):
        for p in _leaf_paths(res.props):
            if not p:
                continue
            resources = list(case.resources)
            resources[i] = Resource(**{**res.__dict__, "props": _replace(res.props, p, UNKNOWN)})
            assert isinstance(rule.check(resources, case.settings), list)


# ---------------------------------------------------------------------------
# Document helpers
# ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "condition, scoped",
    [
        ({"StringEquals": {"aws:PrincipalOrgID": "o-1"}}, True),
        ({"StringEquals": {"AWS:SOURCEACCOUNT": "111122223333"}}, True),
        ({"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": ["o-1/r-1/ou-1/*"]}}, True),
        ({"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-1"}}, False),
        ({"StringNotEquals": {"aws:PrincipalOrgID": "o-1"}}, False),
        ({"Null": {"aws:PrincipalOrgID": "false"}}, False),
        ({"StringLike": {"aws:PrincipalOrgID": "*"}}, False),
        ({"StringLike": {"aws:PrincipalOrgID": "o-*"}}, False),
        ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/pipeline"}}, False),
        ({"ArnLike": {"aws:PrincipalArn": ["arn:aws:iam::111122223333:role/a", "arn:aws:iam::*:role/b"]}}, False),
        ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/team-*"}}, True),
        ({"ArnEquals": {"aws:SourceArn": "arn:aws:s3:::acme-uploads"}}, True),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:s3:::*"}}, False),
        ({"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}, True),
        ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, False),
        (None, False),
    ],
)
def test_scoping_conditions(condition, scoped) -> None:
    stmt = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}
    if condition is not None:
        stmt["Condition"] = condition
    assert is_scoped(stmt) is scoped


@pytest.mark.parametrize(
    "principal, kind, acct",
    [
        ("111122223333", "account", "111122223333"),
        ("arn:aws:iam::111122223333:root", "account", "111122223333"),
        ({"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}, "account", "${AWS::AccountId}"),
        ({"Fn::Sub": "arn:${AWS::Partition}:iam::${Other}:root"}, "account", None),
        ("arn:aws:iam::111122223333:role/pipeline", "exact", None),
        ("arn:aws:sts::111122223333:assumed-role/pipeline/session", "exact", None),
        ({"Ref": "TrustedArn"}, "opaque", None),
        (UNKNOWN, "opaque", None),
        ("*", "public", None),
    ],
)
def test_principal_account(principal, kind, acct) -> None:
    assert principal_account(principal) == (kind, acct)


def test_tokens_split_names() -> None:
    assert tokens("SastScan", "deploy-prod_eu", {"Ref": "X"}) >= {"sast", "scan", "deploy", "prod", "eu"}
    assert "prod" not in tokens("DeployPreprod")


def test_kms_key_policy_root_grant_is_not_an_identity_policy_violation() -> None:
    """kms:* to the account root is the standard key policy; the IAM wildcard rules ignore key policies."""
    props = {"enableKeyRotation": True, "policy": json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}]})}
    findings = engine.raw_findings([Resource("aws:kms/key:Key", "k", "urn:k", props)], Settings())
    assert findings == []

"""Independent cross-check: every flow instance of both stacks, decided again by principalmapper.

principalmapper 1.1.5 (tests/access/pmapper_bridge.py) is a policy simulator nobody here
wrote. Any disagreement with ``blueprint.access.evaluator`` fails this test, unless the
ALLOWLIST below explains it with the AWS documentation. Requests principalmapper cannot
model (service principals, NotPrincipal, ...) raise ``Unsupported`` and are counted, not
compared: the test also fails if that share grows past what we know of.
"""

from __future__ import annotations

from collections import Counter

import pytest

from blueprint.access import flows as catalogue
from blueprint.access.check import assemble
from tests.access.pmapper_bridge import Unsupported, pmapper_decision
from tests.conftest import plan_of

# (flow id, action) -> why principalmapper's answer differs from AWS's, citing the docs.
ALLOWLIST: dict[tuple[str, str], str] = {}
# At most this share of instances may be beyond principalmapper (service principals mostly).
MAX_UNSUPPORTED = 0.25


def _instances(stack: str) -> list[catalogue.Instance]:
    code, doc = plan_of(stack)
    assert code == 0
    a = assemble(doc)
    return catalogue.evaluate(a.model, a.facts, catalogue.load()).instances


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_principalmapper_agrees_with_the_evaluator(stack):
    disagreements, skipped = [], Counter()
    instances = _instances(stack)
    for inst in instances:
        try:
            theirs = pmapper_decision(inst.request)
        except Unsupported as exc:
            skipped[exc.reason.split(":")[0]] += 1
            continue
        if theirs != inst.decision.allowed and (inst.flow.id, inst.action) not in ALLOWLIST:
            disagreements.append(f"{inst.flow.id}: {inst.principal} {inst.action} {inst.resource}: "
                                 f"ours {inst.decision.why()}, principalmapper {'ALLOW' if theirs else 'DENY'}")
    assert not disagreements, "\n".join(disagreements[:30])
    compared = len(instances) - sum(skipped.values())
    assert compared >= 0.75 * len(instances), skipped
    assert sum(skipped.values()) <= MAX_UNSUPPORTED * len(instances), skipped

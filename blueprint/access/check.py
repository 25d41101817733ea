"""The access check of the offline plan: every flow of the catalogue against the assembled org.

``run(doc)`` takes a plan document (``build/plan-<stack>.json``) and returns the flow
summary, every evaluated instance, and the findings: a required flow that is denied, or a
forbidden flow that is allowed, is mandatory. Nothing here needs the Pulumi runtime, so
``make explain`` and ``make diff`` rebuild the same model from a written plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from blueprint.access import flows as catalogue
from blueprint.access.build import build
from blueprint.access.facts import Facts, gather
from blueprint.access.model import OrgModel


@dataclass
class Assembled:
    model: OrgModel
    facts: Facts


def assemble(doc: dict[str, Any]) -> Assembled:
    model = build(doc, doc["management_account"], doc["home_region"])
    return Assembled(model, gather(doc, model, doc["home_region"]))


def run(doc: dict[str, Any], flows: list[catalogue.Flow] | None = None,
        assembled: Assembled | None = None) -> tuple[dict[str, int], list[dict[str, Any]], list[dict[str, Any]]]:
    """(summary, instances, findings) for one plan."""
    from blueprint.offline.checks import finding

    flows = catalogue.load() if flows is None else flows
    a = assembled or assemble(doc)
    result = catalogue.evaluate(a.model, a.facts, flows)
    findings = [finding("access-flow", "", i.message()) for i in result.violations]
    findings += [finding("access-flow", "", f"cannot evaluate: {e}") for e in result.errors]
    return result.summary(), [i.as_dict() for i in result.instances], findings

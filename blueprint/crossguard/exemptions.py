"""Waivers from the stack file's ``secure-org:policy_exemptions`` (config.PolicyExemption).

An exemption waives the findings of one ``rule`` on the resources whose name (or URN)
matches its ``resource`` fnmatch pattern, until ``expires`` (inclusive). Then:

* an expired exemption waives nothing and is itself a mandatory finding;
* an exemption naming a rule that does not exist - or one of the exemption/config checks,
  which cannot be waived - is a mandatory finding;
* an exemption that matches no finding is an advisory finding (remove it).

"today" is a parameter everywhere so tests can move the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from fnmatch import fnmatchcase
from typing import Any, Protocol

from blueprint.crossguard.rules import META_RULES


class ExemptionLike(Protocol):
    rule: str
    resource: str
    reason: str
    expires: date


def label(index: int, ex: ExemptionLike) -> str:
    return f"policy_exemptions[{index}] ({ex.rule} on {ex.resource!r})"


def is_expired(ex: ExemptionLike, today: date) -> bool:
    return ex.expires < today


def matches(ex: ExemptionLike, rule: str, name: str | None, urn: str | None) -> bool:
    if ex.rule != rule or rule in META_RULES:
        return False
    return any(v and fnmatchcase(v, ex.resource) for v in (name, urn))


def waiver_for(exemptions: Sequence[ExemptionLike], rule: str, name: str | None, urn: str | None,
               today: date) -> tuple[int, ExemptionLike] | None:
    """The first unexpired exemption waiving ``rule`` on this resource, with its index."""
    for i, ex in enumerate(exemptions):
        if not is_expired(ex, today) and matches(ex, rule, name, urn):
            return i, ex
    return None


def finding(rule: str, message: str, urn: str = "") -> dict[str, Any]:
    return {"rule": rule, "severity": META_RULES[rule][0], "urn": urn, "message": message}


def exemption_findings(exemptions: Sequence[ExemptionLike], known_rules: Iterable[str], today: date,
                       used: set[int] | None = None) -> list[dict[str, Any]]:
    """Findings about the exemptions themselves. ``used`` (indexes that waived something)
    enables the unused check; pass None when not every finding was computed."""
    known = set(known_rules) - set(META_RULES)
    out = []
    for i, ex in enumerate(exemptions):
        if ex.rule not in known:
            why = "cannot be waived" if ex.rule in META_RULES else "is not a rule of the secure-org policy pack"
            out.append(finding("policy-exemption-unknown-rule", f"{label(i, ex)}: {ex.rule!r} {why}"))
        elif is_expired(ex, today):
            out.append(finding(
                "policy-exemption-expired",
                f"{label(i, ex)} expired on {ex.expires.isoformat()} and no longer waives anything; "
                "fix the resource, or renew the exemption with a new date and reason",
            ))
        elif used is not None and i not in used:
            out.append(finding("policy-exemption-unused", f"{label(i, ex)} matches no finding; remove it"))
    return out

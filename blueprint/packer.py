"""Pack guardrail units into as few policies as the target's limits allow, deterministically.

A *unit* is the smallest piece that may move between policies: one IAM statement of
an SCP or RCP, or one top-level entry of a tag / declarative policy. Packing is:

1. drop exact duplicates (two guardrails may carry the same statement);
2. first-fit-decreasing bin packing (size desc, then text, so output is stable);
3. if that needs more policies than the target has free slots, merge statements that
   differ only in ``Action``/``Sid`` and pack again;
4. if it still does not fit, raise :class:`PackError` saying which target is over and by how much.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from blueprint.policies import DEFAULT_ATTACHED, minify, render

STATEMENTS = "statements"
MAPPING = "mapping"

# Document shells; units are joined by "," between the prefix and the suffix.
SHELLS = {
    "service_control_policies": (STATEMENTS, '{"Version":"2012-10-17","Statement":[', "]}"),
    "resource_control_policies": (STATEMENTS, '{"Version":"2012-10-17","Statement":[', "]}"),
    "tag_policies": (MAPPING, '{"tags":{', "}}"),
    "declarative_policies": (MAPPING, '{"ec2_attributes":{', "}}"),
}


class PackError(Exception):
    """A target whose guardrails cannot fit; ``str()`` says which and by how much."""


@dataclass(frozen=True)
class Unit:
    source: str  # guardrail id(s) it came from, for traceability in the plan
    template: Any  # statement dict, or a (key, value) pair for mapping kinds; placeholders unrendered
    text: str  # minified fragment rendered with stand-ins: its size is what we pack by

    @property
    def size(self) -> int:
        return len(self.text)


@dataclass
class Packed:
    kind: str
    target: str
    bins: list[list[Unit]] = field(default_factory=list)
    merged: bool = False

    def sources(self, i: int) -> list[str]:
        out: list[str] = []
        for u in self.bins[i]:
            for s in u.source.split("+"):
                if s not in out:
                    out.append(s)
        return sorted(out)

    def document(self, i: int, values: dict[str, Any]) -> str:
        """Minified policy text of bin ``i`` with ``values`` filled in."""
        return assemble(self.kind, [_render_unit(self.kind, u.template, values, self.target) for u in self.bins[i]])


def assemble(kind: str, rendered_units: list[Any]) -> str:
    shape, prefix, suffix = SHELLS[kind]
    if shape == STATEMENTS:
        parts = [minify(u) for u in rendered_units]
    else:
        parts = [minify(k) + ":" + minify(v) for k, v in rendered_units]
    return prefix + ",".join(parts) + suffix


def units_from(kind: str, gid: str, doc: dict[str, Any], values: dict[str, Any]) -> list[Unit]:
    """Split one guardrail document into units, each rendered with stand-ins for sizing."""
    shape = SHELLS[kind][0]
    if shape == STATEMENTS:
        stmts = doc.get("Statement")
        if isinstance(stmts, dict):
            stmts = [stmts]
        if not isinstance(stmts, list) or not stmts:
            raise PackError(f"{gid}: an IAM policy document needs a non-empty Statement list")
        return [Unit(gid, s, minify(render(s, values, gid))) for s in stmts]
    (container,) = [k for k in doc if k != "Version"] or [None]
    body = doc.get(container) if container else None
    expected = SHELLS[kind][1][2:].split('"')[0]
    if container != expected or not isinstance(body, dict) or not body:
        raise PackError(f"{gid}: a {kind} document needs one non-empty '{expected}' object")
    out = []
    for key, value in body.items():
        rk, rv = _render_unit(kind, (key, value), values, gid)
        out.append(Unit(gid, (key, value), minify(rk) + ":" + minify(rv)))
    return out


def _render_unit(kind: str, template: Any, values: dict[str, Any], where: str) -> Any:
    """Render a statement, or a mapping entry's key and value separately (never spliced together)."""
    if SHELLS[kind][0] == STATEMENTS:
        return render(template, values, where)
    key, value = template
    return render(key, values, where), render(value, values, where)


def _meaning(kind: str, u: Unit) -> str:
    """A unit's identity for de-duplication: a statement's Sid is only a label."""
    if SHELLS[kind][0] != STATEMENTS:
        return u.text
    stmt = json.loads(u.text)
    stmt.pop("Sid", None)
    return minify(stmt)


def _ffd(units: list[Unit], capacity: int) -> list[list[Unit]]:
    bins: list[list[Unit]] = []
    room: list[int] = []
    for u in sorted(units, key=lambda u: (-u.size, u.text)):
        for i, free in enumerate(room):
            if u.size + 1 <= free:  # +1 for the separating comma
                bins[i].append(u)
                room[i] -= u.size + 1
                break
        else:
            bins.append([u])
            room.append(capacity - u.size)
    # Keep each policy's statements in a stable, readable order.
    return [sorted(b, key=lambda u: (u.source, u.text)) for b in bins]


def _merge(units: list[Unit], kind: str, capacity: int) -> list[Unit]:
    """Union the actions of statements that differ only in Sid and Action.

    A merged statement is cut into as few pieces as keep each within one policy, so
    merging can only shrink the total, never create a unit too big to place.
    """
    if SHELLS[kind][0] != STATEMENTS:
        return units
    groups: dict[str, list[Unit]] = {}
    for u in units:
        t = u.template
        if not isinstance(t, dict) or "Action" not in t:
            key = "\0" + u.text  # unmergeable: its own group
        else:
            key = minify({k: v for k, v in sorted(t.items()) if k not in ("Sid", "Action")})
        groups.setdefault(key, []).append(u)
    merged: list[Unit] = []
    for key in sorted(groups):
        members = groups[key]
        if len(members) == 1:
            merged.append(members[0])
            continue
        actions: set[str] = set()
        for m in members:
            a = m.template["Action"]
            actions.update([a] if isinstance(a, str) else a)
        source = "+".join(sorted({s for m in members for s in m.source.split("+")}))
        template = {k: v for k, v in members[0].template.items() if k != "Sid"}
        # Actions never hold placeholders, so the members' rendered text gives exact sizes.
        rendered = json.loads(members[0].text)
        rendered.pop("Sid", None)

        def unit(chunk: list[str]) -> Unit:
            t = dict(template, Action=chunk)
            r = {k: (chunk if k == "Action" else rendered[k]) for k in t}
            return Unit(source, t, minify(r))

        chunk: list[str] = []
        for action in sorted(actions):
            if chunk and unit(chunk + [action]).size > capacity:
                merged.append(unit(chunk))
                chunk = []
            chunk.append(action)
        merged.append(unit(chunk))
    return merged


def pack(kind: str, target: str, units: list[Unit], max_chars: int, max_per_target: int) -> Packed:
    """Pack ``units`` for one target; see the module docstring for the steps."""
    _, prefix, suffix = SHELLS[kind]
    overhead = len(prefix) + len(suffix)
    reserved = 1 if kind in DEFAULT_ATTACHED else 0
    slots = max_per_target - reserved
    capacity = max_chars - overhead

    # Order-independent from here on: the same units in any order give the same policies.
    by_meaning: dict[str, Unit] = {}
    for u in sorted(units, key=lambda u: (u.text, u.source)):
        key = _meaning(kind, u)
        if key in by_meaning:  # the same statement from two guardrails: keep one, credit both
            kept = by_meaning[key]
            sources = sorted(set(kept.source.split("+")) | set(u.source.split("+")))
            by_meaning[key] = Unit("+".join(sources), kept.template, kept.text)
        else:
            by_meaning[key] = u
    unique = list(by_meaning.values())
    if SHELLS[kind][0] == MAPPING:
        # One document cannot hold a key twice, and two policies setting the same
        # attribute differently on one target would leave the effective value to AWS's
        # inheritance rules: make the conflict an error instead.
        owners: dict[str, Unit] = {}
        for u in unique:
            key = u.template[0]
            if key in owners:
                first, second = sorted((owners[key].source, u.source))
                raise PackError(f"{kind} at {target!r}: guardrails {first!r} and {second!r} both set {key!r} differently")
            owners[key] = u
    if not unique:
        return Packed(kind, target)

    too_big = [u for u in unique if u.size > capacity]
    if too_big:
        u = max(too_big, key=lambda u: u.size)
        sid = u.template.get("Sid") if isinstance(u.template, dict) else u.template[0]
        raise PackError(
            f"{kind} at {target!r}: {sid or 'a statement'} from guardrail {u.source!r} is "
            f"{u.size + overhead} characters as a policy; the limit is {max_chars} "
            f"(over by {u.size + overhead - max_chars})"
        )

    merged = False
    bins = _ffd(unique, capacity)
    if len(bins) > slots:
        unique = _merge(unique, kind, capacity)
        merged = True
        bins = _ffd(unique, capacity)
    if len(bins) > slots:
        need = sum(u.size + 1 for u in unique) - 1 + overhead
        have = slots * max_chars
        detail = f"over by {need - have} characters" if need > have else "statements do not pack into the free slots"
        note = f" ({DEFAULT_ATTACHED[kind]} takes one)" if reserved else ""
        raise PackError(
            f"{kind} at {target!r}: needs {len(bins)} policies of at most {max_chars} characters "
            f"but only {slots} of {max_per_target} attachment slots are free{note}; "
            f"{need} characters of guardrails against {have} available, {detail}"
        )
    return Packed(kind, target, bins, merged)

"""Teams and environments that disappear between base and head config without being closed.

A team's accounts are closed only on purpose, in two steps (README "Renaming, moving and
closing accounts"): list the environment in ``decommission``, then remove it. A team that
is simply gone (not a ``previous_names`` of any head team), or an environment dropped
without that first step, is a configuration error of the change: the diff exits 2.

Both plans record their accounts (``accounts``: key, name, team, environment, aliases,
decommission), which is all this needs: no stack file is read, so saved plans work too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

README = 'README "Renaming, moving and closing accounts"'


@dataclass
class TeamView:
    name: str  # the current name
    key: str  # the identity (Team.key, the first name): every resource name derives from it
    keyed: bool  # recorded by a plan that names resources after the identity (it records team_name)
    index: int  # position in the stack file's ``teams`` list
    names: set[str] = field(default_factory=set)  # every name it answers to (current, identity, previous)
    envs: dict[str, tuple[str, bool]] = field(default_factory=dict)  # environment -> (account name, decommissioned)


def teams_of(doc: dict[str, Any] | None) -> list[TeamView]:
    """The teams of a plan, in config order, from its recorded accounts."""
    out: dict[str, TeamView] = {}
    for a in (doc or {}).get("accounts") or []:
        if not a.get("team") or not a.get("environment"):
            continue
        key, env = a["team"], a["environment"]  # ``team`` is the identity (Team.key) in newer plans
        name = a.get("team_name") or key
        view = out.setdefault(key, TeamView(name=name, key=key, keyed="team_name" in a, index=len(out), names={name, key}))
        # Aliases are the account keys under the team's other names: "<name>-<env>".
        view.names |= {al[: -len(env) - 1] for al in a.get("aliases") or [] if al.endswith(f"-{env}")}
        view.envs[env] = (a.get("name") or f"{name}-{env}", bool(a.get("decommission")))
    return list(out.values())


def team_errors(base_doc: dict[str, Any] | None, head_doc: dict[str, Any]) -> list[str]:
    """Config errors of the change, each as ``<file>: <key path>: <message>``."""
    if not base_doc:
        return []
    source = head_doc.get("source") or f"Pulumi.{head_doc.get('stack')}.yaml"
    base, head = teams_of(base_doc), teams_of(head_doc)
    claimed = {b.name: next((h for h in head if h.names & b.names), None) for b in base}
    new = [h for h in head if not any(h is c for c in claimed.values())]
    errors: list[str] = []
    for b in base:
        h = claimed[b.name]
        if h is None:
            open_accounts = [acct for acct, closing in b.envs.values() if not closing]
            if not open_accounts:
                continue  # every account was decommissioned first: closing the team on purpose
            target = new[0].name if len(new) == 1 else "<new>"
            hint = ""
            if new:
                listed = ", ".join(f"'{n.name}'" for n in new)
                hint = (f" (team {listed} is new in this change: it looks like a rename of '{b.name}')" if len(new) == 1
                        else f" (teams {listed} are new in this change: one of them may be '{b.name}' renamed)")
            errors.append(f"{source}: teams: team '{b.name}' is gone but its accounts are not decommissioned ({', '.join(open_accounts)}): "
                          f"to rename it, set name: {target} and previous_names: [{b.name}]{hint}; "
                          f"to close it, decommission first ({README})")
            continue
        if h.keyed and b.keyed and h.key != b.key:
            # previous_names reordered or trimmed: every resource named after the old identity
            # would be replaced by an empty one, which no diff line would make obvious.
            errors.append(f"{source}: teams[{h.index}].previous_names: team '{h.name}' would change its identity from "
                          f"'{b.key}' to '{h.key}', replacing every resource named after it: keep '{b.key}' first in "
                          f"previous_names (oldest first; never reorder or remove an entry)")
            continue
        for env, (acct, closing) in b.envs.items():
            if env not in h.envs and not closing:
                errors.append(f"{source}: teams[{h.index}].environments: team '{h.name}' no longer lists '{env}' but its account "
                              f"'{acct}' is not decommissioned: to close it, put '{env}' back and list it in teams[{h.index}].decommission first, "
                              f"then remove it in a later change ({README})")
    return errors

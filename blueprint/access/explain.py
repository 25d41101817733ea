"""Why is this allowed or denied? One request, every policy layer, the deciding statement.

    make explain STACK=prod PRINCIPAL=payments-prod:role/payments-deploy \\
        ACTION=s3:GetObject RESOURCE='arn:aws:s3:::payments-pipeline-<account:tooling>/x'

Principals and resources are given the way the plan shows them: ``<account-key>:role/<name>``
for roles, ARNs with ``<account:KEY>`` and ``<org-id>`` placeholders, a service principal
(``cloudtrail.amazonaws.com``), or one of the flow catalogue's actors (``team-admin:<account-key>``,
``team-app:<account-key>:<team>``, ``outsider``). ``--context KEY=VALUE`` adds condition keys.

Exit codes: 0 allowed, 1 denied, 2 bad input or configuration.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from blueprint.access import actors
from blueprint.access.check import assemble
from blueprint.access.evaluator import evaluate
from blueprint.access.model import OrgModel
from blueprint.access.types import Decision, Request

ACTOR_KINDS = ("team-admin", "team-app", "sso-for", "person")


def principal_spec(model: OrgModel, text: str) -> str:
    """A person's way of naming a principal, as the ARN (or actor spec) the model knows."""
    kind, _, rest = text.partition(":")
    if kind in ACTOR_KINDS:
        if kind in ("team-admin", "team-app"):
            key, _, team = rest.partition(":")
            acct = model.resolve_label(f"<account:{key}>")
            return f"{kind}:{acct}" + (f":{team}" if team else "")
        return f"{kind}:{model.resolve_label(rest)}"
    return model.resolve_label(text)


def render(decision: Decision, principal: str, action: str, resource: str) -> str:
    lines = [f"principal: {principal}", f"action:    {action}", f"resource:  {resource}", ""]
    for layer in decision.layers:
        lines.append(f"{layer.layer:<9} {layer.outcome}" + (f"  ({layer.note})" if layer.note else ""))
        for m in layer.matches:
            lines.append(f"            {m.effect:<5} {m.policy}" + (f" [{m.sid}]" if m.sid else ""))
    lines += ["", f"decision: {decision.why()}"]
    if decision.reason:
        lines.append(f"because:  {decision.reason}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from blueprint.offline.plan import EXIT_CONFIG, plan_stack

    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--stack", default="dev")
    ap.add_argument("--file", type=Path, help="stack file (default Pulumi.<stack>.yaml)")
    ap.add_argument("--plan", type=Path, help="a written plan document (build/plan-<stack>.json) instead of planning again")
    ap.add_argument("--principal", required=True)
    ap.add_argument("--action", required=True)
    ap.add_argument("--resource", required=True)
    ap.add_argument("--context", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args(argv)

    if args.plan:
        try:
            code, doc = 0, json.loads(args.plan.read_text())
        except (OSError, ValueError) as exc:
            print(f"explain: cannot read plan {args.plan}: {exc} (write it with `make plan`)", file=sys.stderr)
            return 2
    else:
        code, doc = plan_stack(args.stack, args.file)
    if code == EXIT_CONFIG or not doc.get("resources"):
        for line in doc.get("config_errors") or [f["message"] for f in doc.get("findings", [])]:
            print(f"  {line}", file=sys.stderr)
        return 2
    model = assemble(doc).model
    context = {}
    for item in args.context:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"--context {item!r}: expected KEY=VALUE", file=sys.stderr)
            return 2
        context[key] = value
    try:
        parn = actors.resolve(model, principal_spec(model, args.principal))
        principal = model.principal(parn)
        arn = model.resolve_label(args.resource)
    except KeyError as exc:
        print(f"explain: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    resource = model.resource(arn, action=args.action)
    if resource.region is None:
        resource.region = doc["home_region"]
    decision = evaluate(Request(principal, args.action, resource, context))
    print(render(decision, principal.name, args.action, resource.name))
    return 0 if decision.allowed else 1


if __name__ == "__main__":
    sys.exit(main())

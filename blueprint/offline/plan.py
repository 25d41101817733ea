"""Offline plan: the whole deployment of one stack, with no AWS credentials and no Pulumi CLI.

    python -m blueprint.offline.plan --stack dev        (what `make plan STACK=dev` runs)

Runs the real program under the Pulumi mock runtime with ``Pulumi.<stack>.yaml``,
records every registered resource, checks it, prints a tree, and writes
``build/plan-<stack>.json`` and ``build/plan-<stack>.md``.

Exit codes: 0 clean, 1 mandatory finding, 2 configuration error (a missing or malformed
stack file included), 3 internal error (a bug: the traceback is printed). CI relies on them,
so it calls this module, not `make plan`: make exits 2 whatever its recipe returned.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from blueprint import guardrails
from blueprint.config import ConfigError, StackConfig, load_flat
from blueprint.crossguard import engine as crossguard
from blueprint.access import check as access
from blueprint.offline import checks, quotas, report
from blueprint.offline.mocks import MANAGEMENT_ACCOUNT_ID
from blueprint.offline.runtime import run_program, stack_file_config

REPO = Path(__file__).resolve().parent.parent.parent
EXIT_OK, EXIT_FINDINGS, EXIT_CONFIG, EXIT_INTERNAL = 0, 1, 2, 3


def provider_count(resources: list[dict[str, Any]]) -> int:
    """Provider plugin instances the engine would start: explicit ones plus each package's default."""
    explicit = {r["urn"] for r in resources if r["type"].startswith("pulumi:providers:")}
    defaults = {r["type"].split(":")[0] for r in resources if r["custom"] and not r["provider"] and not r["type"].startswith("pulumi:providers:")}
    return len(explicit) + len(defaults)


def summarize(resources: list[dict[str, Any]]) -> dict[str, Any]:
    custom = [r for r in resources if r["custom"] and not r["type"].startswith("pulumi:providers:")]
    return {
        "resources": len(custom),
        "components": sum(1 for r in resources if not r["custom"]),
        "providers": provider_count(resources),
        "protected": sum(1 for r in custom if r["protect"]),
        "by_type": dict(sorted(Counter(r["type"] for r in resources).items())),
    }


def guardrail_summary(cfg: StackConfig, planned: list[guardrails.TargetPolicies], resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per target: the policies it gets, their real sizes and the slots they use."""
    from blueprint import policies

    contents = {r["inputs"].get("name"): r["inputs"].get("content", "") for r in resources if r["type"] == checks.POLICY}
    out = []
    for tp in planned:
        limit = getattr(cfg.organization.policy_limits, policies.LIMIT_FIELDS[tp.kind])
        short = policies.SHORT[tp.kind]
        from components.guardrails import slug

        rows = []
        for i in range(len(tp.packed.bins)):
            name = f"{cfg.organization.name}-{short}-{slug(tp.target)}-{i + 1}"
            rows.append(
                {
                    "name": name,
                    "chars": len(contents.get(name, "")),
                    "statements": len(tp.packed.bins[i]),
                    "guardrails": tp.packed.sources(i),
                }
            )
        reserved = 1 if tp.kind in policies.DEFAULT_ATTACHED else 0
        out.append(
            {
                "kind": tp.kind,
                "type": tp.aws_type,
                "target": tp.target,
                "max_chars": limit.max_chars,
                "slots_used": len(rows) + reserved,
                "slots_max": limit.max_per_target,
                "merged": tp.packed.merged,
                "policies": rows,
            }
        )
    return out


def plan_stack(stack: str, stack_file: Path | None = None) -> tuple[int, dict[str, Any]]:
    """Build the plan of one stack. Returns (exit code, plan document)."""
    from blueprint import program

    stack_file = stack_file or REPO / f"Pulumi.{stack}.yaml"
    source = stack_file.name
    doc: dict[str, Any] = {"stack": stack, "source": source, "resources": [], "summary": {}, "findings": []}
    try:
        flat, secrets = stack_file_config(stack_file)  # a missing or malformed file is a ConfigError
        cfg = load_flat(flat, source)
    except ConfigError as exc:
        doc["config_errors"] = exc.lines()
        return EXIT_CONFIG, doc
    # Known from config alone: a plan that stops early below still says which accounts exist,
    # so a diff against it does not take every team for removed.
    doc["accounts"] = [a.model_dump() for a in cfg.accounts()]
    try:
        planned = guardrails.plan(cfg)
    except guardrails.GuardrailLimitError as exc:
        doc["findings"] = [checks.finding("guardrail-limits", "", p) for p in exc.problems]
        return EXIT_FINDINGS, doc
    # Organization-wide quotas are known from config: past one, stop before planning thousands of resources.
    early = quotas.config_check(cfg, planned)
    if any(f["severity"] == "mandatory" for f in early):
        doc["findings"] = early
        return EXIT_FINDINGS, doc

    regs = run_program(stack, flat, secrets, program.main)
    # Sorted by URN so the same config always writes the same file (diffable in review).
    resources = sorted((asdict(r) for r in regs), key=lambda r: r["urn"])
    doc["resources"] = resources
    doc["summary"] = summarize(resources)
    doc["guardrails"] = guardrail_summary(cfg, planned, resources)
    # What the access model needs to rebuild the organization from this document alone.
    doc["management_account"] = MANAGEMENT_ACCOUNT_ID
    doc["home_region"] = cfg.organization.home_region
    # Our own limit/protection checks, then the CrossGuard rules through the same code the
    # policy pack runs under `pulumi preview --policy-pack policies/pack`.
    doc["findings"] = checks.run(cfg, resources) + crossguard.evaluate(resources, cfg)
    # Every flow of the catalogue across every policy layer of the assembled organization.
    assembled = access.assemble(doc)
    doc["summary"]["flows"], doc["flows"], flow_findings = access.run(doc, assembled=assembled)
    doc["findings"] += flow_findings
    # What AWS limits, counted where it lands (StackSet templates included).
    quota_findings, doc["quotas"] = quotas.check(doc, assembled.model, cfg.organization.quotas)
    doc["findings"] += quota_findings
    code = EXIT_FINDINGS if any(f["severity"] == "mandatory" for f in doc["findings"]) else EXIT_OK
    return code, doc


def write(doc: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stack = doc["stack"]
    json_path = out_dir / f"plan-{stack}.json"
    md_path = out_dir / f"plan-{stack}.md"
    json_path.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    md_path.write_text(report.markdown(doc))
    return json_path, md_path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--stack", default="dev")
    ap.add_argument("--file", type=Path, help="stack file (default Pulumi.<stack>.yaml)")
    ap.add_argument("--out", type=Path, default=REPO / "build")
    ap.add_argument("--tree", action="store_true", help="also print every resource as a tree by component and account (make plan VERBOSE=1)")
    ap.add_argument("--quiet", action="store_true", help="the summary only (the default; kept for old scripts)")
    args = ap.parse_args(argv)

    try:
        code, doc = plan_stack(args.stack, args.file)
    except Exception:  # a bug, not a finding: exit 1 must keep meaning "mandatory finding"
        traceback.print_exc()
        print(f"internal error while planning {args.stack!r} (exit {EXIT_INTERNAL}): this is a bug in the blueprint, not in the stack file",
              file=sys.stderr)
        return EXIT_INTERNAL
    if code == EXIT_CONFIG:
        n = len(doc["config_errors"])
        print(f"configuration rejected ({n} problem{'s' if n != 1 else ''}):", file=sys.stderr)
        for line in doc["config_errors"]:
            print(f"  {line}", file=sys.stderr)
        return code
    json_path, md_path = write(doc, args.out)
    print(report.text(doc, tree=args.tree and not args.quiet))
    print(f"\nwrote {json_path.relative_to(Path.cwd()) if json_path.is_relative_to(Path.cwd()) else json_path}"
          f" and {md_path.name}")
    return code


if __name__ == "__main__":
    sys.exit(main())

"""Edits a user could make to a stack file: what each does to data, and what each bad input says.

    python -m blueprint.offline.edit_cases [--stack prod] [--out build/edit-cases.md]   (make edit-cases)

Data-safety edits (blueprint/offline/data_safety.py: a team removed, a pipeline removed,
renames, an environment dropped, an account closed in two steps) are planned and diffed.
Bad inputs are text edits of the same file run through the plan's own entry point: each must
be a configuration error (exit 2) naming the file and the key path or line and column.
Every case declares what it expects, so the run is a check: exit 0 when each case behaves as
expected, 1 when one does not (it is named), 2 for an unusable stack file or team layout.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from blueprint.config_errors import ConfigError
from blueprint.config_yaml import read_stack_file
from blueprint.offline.data_safety import REPO, CaseError, Result, check, run_data_safety

COLUMNS = ("plan", "diff", "deleted_data", "deleted_other", "replaced", "left_behind", "blocked", "created")


# ---------------------------------------------------------------------------------------
# Bad inputs: text edits of the stack file, through the plan's entry point (config errors: fast).

# case -> (pattern, replacement, the message expected after "<file>: "), all regular expressions;
# an empty pattern plans a stack file that does not exist.
BAD_INPUTS: dict[str, tuple[str, str, str]] = {
    "duplicate `secure-org:teams` key": (r"\Z", "  secure-org:teams: []\n", r"line \d+, column 3: duplicate key 'secure-org:teams' \(first at line \d+\)"),
    "`secureorg:teams` (namespace typo)": (r"secure-org:teams:", "secureorg:teams:", r"secureorg:teams: unknown namespace 'secureorg'"),
    "`object_lock_days: yes`": (r"object_lock_days: \d+", "object_lock_days: yes",
                                r"security_baseline\.log_archive\.object_lock_days: expects a whole number .*, got the text 'yes'"),
    "`max_concurrent_percentage: true`": (r"max_concurrent_percentage: \d+", "max_concurrent_percentage: true",
                                          r"security_baseline\.rollout\.max_concurrent_percentage: expects a whole number .*, got the boolean true"),
    "`aws:regoin`": (r"aws:region:", "aws:regoin:", r"aws:regoin: unknown key \(did you mean 'aws:region'\?\)"),
    "`guardduty.amazonaws.co` service principal": (r"(\n    account_email: .*\n)", r"\1    service_access_principals: [guardduty.amazonaws.co]\n",
                                                   r"organization\.service_access_principals\[0\]: 'guardduty\.amazonaws\.co' is not a service principal"),
    # prod's longest account name (data-platform-test, 18 characters) in a 65-character address.
    "65-character account email": (r"account_email: aws\+\{account\}@acme\.example", "account_email: aws+{account}@acme-corporation-mail-gateway-eu-1.example",
                                   r"teams\[\d+\]\.environments\[\d+\]: account email '.*' is 65 characters; AWS allows 64"),
    "20-character team name with a pipeline": (r"- name: payments\n", "- name: payments-platform-eu\n", r"teams\[0\]\.name: .* is \d+ characters; AWS allows \d+"),
    "YAML syntax error (unclosed `[`)": (r"(allowed_regions: \[[^\]\n]*)\]", r"\1", r"line \d+, column \d+: is not valid YAML"),
    "a tab": (r"\n    home_region:", "\n\thome_region:", r"line \d+, column 1: is not valid YAML: a tab character"),
    "`2026-02-30`": (r'expires: "?\d{4}-\d\d-\d\d"?', "expires: 2026-02-30", r"policy_exemptions\[0\]\.expires: 2026-02-30 is not a date"),
    "missing stack file (`--stack staging`)": ("", "", r"no such stack file in .*; the stacks here are"),
    "aws:region different from home_region": (r"aws:region: [a-z0-9-]+", "aws:region: us-east-1", r"aws:region: is '.*' but organization\.home_region is"),
}


def run_bad_input(stack: str, stack_file: Path) -> list[Result]:
    from blueprint.offline import plan

    text = stack_file.read_text()
    results = []
    with tempfile.TemporaryDirectory(prefix="edit-cases-") as tmp:
        for case, (pattern, new, expected) in BAD_INPUTS.items():
            r = Result(case)
            results.append(r)
            name, path = stack, Path(tmp) / stack_file.name
            if not pattern:  # the stack a user would mistype, beside the real ones
                name, path = "staging", stack_file.parent / "Pulumi.staging.yaml"
            else:
                edited, n = re.subn(pattern, new, text, count=1)
                if not n:
                    r.problems.append(f"{stack_file.name} no longer matches /{pattern}/: update this case")
                    continue
                path.write_text(edited)
            err = io.StringIO()
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
                r.plan = plan.main(["--stack", name, "--file", str(path), "--out", str(Path(tmp) / "build")])
            lines = [ln.strip() for ln in err.getvalue().splitlines() if ln.startswith("  ")]
            r.message = next((ln for ln in lines if re.search(expected, ln)), lines[0] if lines else "")
            r.problems += ["printed a traceback"] if "Traceback" in err.getvalue() else []
            r.problems += check({"plan": 2}, r)
            if not re.match(rf"{re.escape(path.name)}: {expected}", r.message):
                r.problems.append(f"no message '{path.name}: ' matching /{expected}/")
    return results


# ---------------------------------------------------------------------------------------
# Output

def _cell(value: Any) -> str:
    return "-" if value is None or value == "" else str(value).replace("|", "\\|")


def _verdict(r: Result) -> str:
    return "no: " + "; ".join(r.problems) if r.problems else "yes"


def markdown(data: list[Result], bad: list[Result], source: str) -> str:
    lines = [f"### Data-safety edits of {source}", "",
             "| case | plan exit | diff exit | deleted data | deleted other | replaced | left behind | blocked | created | as expected "
             "| message (config error, else internal error or mandatory finding) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r.case} | " + " | ".join(_cell(getattr(r, c)) for c in COLUMNS) + f" | {_verdict(r)} | {_cell(r.message)} |" for r in data]
    seen: dict[tuple[str, ...], str] = {}  # details -> the first case that had them
    for r in (r for r in data if r.details):
        first = seen.setdefault(tuple(r.details), r.case.split(" ")[0])
        if first != r.case.split(" ")[0]:
            lines += ["", f"{r.case}: the same as {first}."]
        else:
            lines += ["", f"{r.case}:", "", *[f"- {d}" for d in r.details]]
    lines += ["", f"### Bad inputs in {source}", "", "| case | plan exit | as expected | message |", "|---|---|---|---|"]
    lines += [f"| {r.case} | {_cell(r.plan)} | {_verdict(r)} | {_cell(r.message)} |" for r in bad]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--stack", default="prod")
    ap.add_argument("--out", type=Path, default=REPO / "build" / "edit-cases.md")
    ap.add_argument("--only", choices=("data", "input"), help="one group (input: the bad inputs, in seconds)")
    args = ap.parse_args(argv)
    stack_file = REPO / f"Pulumi.{args.stack}.yaml"
    start = time.monotonic()
    try:
        read_stack_file(stack_file)  # a missing or broken stack file: nothing to edit
        bad = run_bad_input(args.stack, stack_file) if args.only != "data" else []
        data = run_data_safety(args.stack, stack_file) if args.only != "input" else []
    except (ConfigError, CaseError) as exc:
        for line in exc.lines() if isinstance(exc, ConfigError) else [str(exc)]:
            print(f"edit-cases: {line}", file=sys.stderr)
        return 2
    md = markdown(data, bad, stack_file.name)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(md)
    print(md)
    print(f"{len(data) + len(bad)} cases in {time.monotonic() - start:.0f} s; wrote {args.out}")
    failed = [r.case for r in data + bad if r.problems]
    if failed:
        print(f"not as expected ({len(failed)}): " + "; ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

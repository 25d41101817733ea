# Two commands matter on a fresh clone: `make plan` and `make test`. Both bootstrap ./venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= venv
PY := $(VENV)/bin/python
STACK ?= dev
CHECKOV_VENV ?= venv-checkov
LINT_VENV ?= .venv-lint
# pytest workers for `make test` (pytest-xdist): TEST_JOBS=0 runs in one process.
TEST_JOBS ?= auto
# Virtualenvs are built with uv (requirements-uv.txt, installed into $(UV_DIR) by pip) when it is
# available, else with pip; NO_UV=1 forces pip. uv uses PyPI (and any UV_* settings in the environment).
UV_DIR ?= .venv-uv
UV := $(UV_DIR)/bin/uv
# Bytecode is written once, under $(VENV)/pycache rather than next to the sources, even where
# PYTHONDONTWRITEBYTECODE is set: uv installs without compiling, and every plan, test worker and
# subprocess would otherwise recompile the same modules on every run. `rm -rf venv` clears it.
export PYTHONPYCACHEPREFIX := $(abspath $(VENV))/pycache
unexport PYTHONDONTWRITEBYTECODE

.PHONY: plan plan-all test bench schema clean diff edit-cases checkov checkov-plans explain comment mermaid-parser

# $(call install,VENV_DIR,REQUIREMENTS[,uv venv options]): create the virtualenv if missing, then
# install the pinned requirements into it.
define install
	if [ -z "$(NO_UV)" ] && [ -x $(UV) ]; then \
	  { test -x $(1)/bin/python || UV_PYTHON_DOWNLOADS=never $(UV) venv -q --allow-existing $(3) --python $(PYTHON) $(1); } && \
	  UV_PYTHON_DOWNLOADS=never $(UV) pip install -q --python $(1)/bin/python -r $(2); \
	else \
	  { test -x $(1)/bin/python || $(PYTHON) -m venv $(1); } && \
	  $(1)/bin/pip --disable-pip-version-check -q install -r $(2); \
	fi
endef

# uv itself, from PyPI with pip's own configuration; if that fails, the venvs are built with pip.
$(UV_DIR)/.installed: requirements-uv.txt
	@if [ -n "$(NO_UV)" ]; then exit 0; fi; mkdir -p $(UV_DIR); \
	if $(PYTHON) -m pip --disable-pip-version-check -q install --upgrade --target $(UV_DIR) -r requirements-uv.txt \
	  >$(UV_DIR)/install.log 2>&1 && $(UV) --version >/dev/null; then touch $@; \
	else echo "uv unavailable (see $(UV_DIR)/install.log): building virtualenvs with pip" >&2; fi

# Runtime deps only (what `pulumi up` installs too; pip is seeded for Pulumi's pip toolchain);
# dev tools on top for tests.
$(VENV)/.runtime: requirements.txt | $(UV_DIR)/.installed
	$(call install,$(VENV),requirements.txt,--seed)
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(call install,$(VENV),requirements-dev.txt)
	touch $@

# make exits 2 whenever a recipe fails, so the plan's own exit code (README, "The offline plan")
# is said in a last line. CI calls `$(PY) -m blueprint.offline.plan` itself to get that code.
plan_failed = code=$$?; case $$code in 1) kind="mandatory finding";; 2) kind="configuration error";; \
  3) kind="internal error";; *) kind="unexpected failure";; esac; \
  echo "make: the offline plan exited $$code: $$kind (make itself exits 2 on any failure)" >&2; exit $$code

## Offline plan of one stack (default dev): a summary on stdout (VERBOSE=1 adds the resource tree), build/plan-$(STACK).{json,md}
plan: $(VENV)/.runtime
	@echo "$(PY) -m blueprint.offline.plan --stack $(STACK) $(if $(VERBOSE),--tree)"
	@$(PY) -m blueprint.offline.plan --stack $(STACK) $(if $(VERBOSE),--tree) || { $(plan_failed); }

plan-all: $(VENV)/.runtime
	@echo "$(PY) -m blueprint.offline.plan --stack dev --quiet"
	@$(PY) -m blueprint.offline.plan --stack dev --quiet || { $(plan_failed); }
	@echo "$(PY) -m blueprint.offline.plan --stack prod --quiet"
	@$(PY) -m blueprint.offline.plan --stack prod --quiet || { $(plan_failed); }

## Why is a request allowed or denied? make explain STACK=prod PRINCIPAL=payments-prod:role/payments-deploy ACTION=s3:GetObject RESOURCE='arn:aws:s3:::...'
## (CONTEXT='aws:MultiFactorAuthPresent=true' adds condition keys; exit 0 allowed, 1 denied, 2 bad input)
explain: $(VENV)/.runtime
	$(PY) -m blueprint.access.explain --stack $(STACK) --principal '$(PRINCIPAL)' --action '$(ACTION)' --resource '$(RESOURCE)' $(foreach c,$(CONTEXT),--context '$(c)')

## Everything CI checks
# The three virtualenvs are independent: built side by side.
test:
	@$(MAKE) --no-print-directory -j4 $(VENV)/.dev $(CHECKOV_VENV)/.installed $(LINT_VENV)/.installed mermaid-parser
	CHECKOV_BIN=$(abspath $(CHECKOV_VENV))/bin/checkov $(PY) -m pytest -q -n $(TEST_JOBS) --dist loadgroup

# Workflow linters (actionlint, zizmor, check-jsonschema) for tests/test_workflows.py, and the type
# checker (basedpyright, with its own node from PyPI; pyrightconfig.json) for tests/test_typecheck.py.
$(LINT_VENV)/.installed: requirements-lint.txt | $(UV_DIR)/.installed
	$(call install,$(LINT_VENV),requirements-lint.txt)
	touch $@

## Plan time vs the bare SDK floor for 1, 10 and 100 teams (not a test: figures only)
bench: $(VENV)/.runtime
	$(PY) -m blueprint.offline.bench

## Regenerate the JSON Schema editors use for Pulumi.<stack>.yaml
schema: $(VENV)/.runtime
	$(PY) -m blueprint.schema

clean:
	rm -rf build .pytest_cache .hypothesis

## Plan diff against a git ref, security-relevant changes first: make diff STACK=prod BASE=origin/main
BASE ?= HEAD
diff: $(VENV)/.runtime
	$(PY) -m blueprint.offline.diff --stack $(STACK) --base $(BASE)

## Data-safety edits and bad inputs of prod, each checked against its expected outcome: build/edit-cases.md (docs/data-safety.md)
edit-cases: $(VENV)/.runtime
	$(PY) -m blueprint.offline.edit_cases --stack prod --out build/edit-cases.md

## checkov on the Terraform-plan export of both stacks (checkov lives in its own venv: its pins clash with pulumi's)
$(CHECKOV_VENV)/.installed: requirements-checkov.txt | $(UV_DIR)/.installed
	$(call install,$(CHECKOV_VENV),requirements-checkov.txt)
	touch $@

checkov: $(VENV)/.runtime $(CHECKOV_VENV)/.installed
	$(PY) -m blueprint.offline.checkov_scan --checkov $(CHECKOV_VENV)/bin/checkov --stacks dev prod

## The same on the plans already in build/ (CI plans each stack once: make plan-all first)
checkov-plans: $(VENV)/.runtime $(CHECKOV_VENV)/.installed
	$(PY) -m blueprint.offline.checkov_scan --checkov $(CHECKOV_VENV)/bin/checkov --stacks dev prod --plans build

## The PR comment from what plan-all, diff and checkov wrote in build/ (verdict first, within 60,000 characters)
comment: $(VENV)/.runtime
	$(PY) -m blueprint.review.comment --build build --out build/comment.md

# Mermaid's own parser (npm: mermaid + jsdom, pinned in tools/mermaid/package.json) for the
# diagram test. Optional: without node or the registry the test checks the structural limits.
mermaid-parser:
	@if command -v npm >/dev/null && [ ! -d tools/mermaid/node_modules/mermaid ]; then \
	  (cd tools/mermaid && npm install --no-audit --no-fund --no-package-lock --silent) \
	  || echo "mermaid parser not installed: the diagram test checks structural limits only" >&2; \
	fi

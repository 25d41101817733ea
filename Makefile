# Two commands matter on a fresh clone: `make plan` and `make test`. Both bootstrap ./venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= venv
PY := $(VENV)/bin/python
STACK ?= dev
PIP := $(VENV)/bin/pip --disable-pip-version-check -q
CHECKOV_VENV ?= venv-checkov
LINT_VENV ?= .venv-lint

.PHONY: plan plan-all test bench schema clean diff checkov explain

# Runtime deps only (what `pulumi up` installs too); dev tools on top for tests.
$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PIP) install -r requirements-dev.txt
	touch $@

## Offline plan of one stack (default dev): tree on stdout, build/plan-$(STACK).{json,md}
plan: $(VENV)/.runtime
	$(PY) -m blueprint.offline.plan --stack $(STACK)

plan-all: $(VENV)/.runtime
	$(PY) -m blueprint.offline.plan --stack dev --quiet
	$(PY) -m blueprint.offline.plan --stack prod --quiet

## Why is a request allowed or denied? make explain STACK=prod PRINCIPAL=payments-prod:role/payments-deploy ACTION=s3:GetObject RESOURCE='arn:aws:s3:::...'
## (CONTEXT='aws:MultiFactorAuthPresent=true' adds condition keys; exit 0 allowed, 1 denied, 2 bad input)
explain: $(VENV)/.runtime
	$(PY) -m blueprint.access.explain --stack $(STACK) --principal '$(PRINCIPAL)' --action '$(ACTION)' --resource '$(RESOURCE)' $(foreach c,$(CONTEXT),--context '$(c)')

## Everything CI checks
test: $(VENV)/.dev $(CHECKOV_VENV)/.installed $(LINT_VENV)/.installed
	CHECKOV_BIN=$(CURDIR)/$(CHECKOV_VENV)/bin/checkov $(PY) -m pytest -q

# Workflow linters (actionlint, zizmor, check-jsonschema) for tests/test_workflows.py.
$(LINT_VENV)/.installed: requirements-lint.txt
	test -x $(LINT_VENV)/bin/python || $(PYTHON) -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/pip --disable-pip-version-check -q install -r requirements-lint.txt
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

## checkov on the Terraform-plan export of both stacks (checkov lives in its own venv: its pins clash with pulumi's)
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip --disable-pip-version-check -q install -r requirements-checkov.txt
	touch $@

checkov: $(VENV)/.runtime $(CHECKOV_VENV)/.installed
	$(PY) -m blueprint.offline.checkov_scan --checkov $(CHECKOV_VENV)/bin/checkov --stacks dev prod

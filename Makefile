# `make repro`: set up the venv and run the whole pipeline; `make test`: the test suite.
VENV := .venv
PIP := $(VENV)/bin/pip
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup repro test plots-template
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -d $(VENV) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	touch $@

repro: setup
	dvc repro
	@git diff --quiet -- dvc.lock metrics || echo "make repro: dvc.lock and metrics/ differ from the commit. On another \
	CPU model than the one that made them this is expected (docs/reproducibility.md): commit them as your \
	baseline before comparing experiments with dvc metrics diff."

test: setup
	python -m pytest

# Rebuild plots_offline/template.html (vega, vega-lite, vega-embed inlined) from the npm registry.
plots-template:
	python3 plots_offline/build.py

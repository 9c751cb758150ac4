# `make repro`: set up the venv and run the whole pipeline; `make test`: the test suite.
VENV := .venv
PIP := $(VENV)/bin/pip
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup repro test plots-template
setup: $(VENV)/.installed

# In steps: the project, then dvc[s3], then moto with botocore pinned to the version dvc[s3] chose.
# A single `pip install -e '.[dev]'` in a fresh venv backtracks through botocore for ~10 minutes;
# the last step then only checks that `.[dev]` is satisfied.
$(VENV)/.installed: pyproject.toml
	test -d $(VENV) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	$(PIP) install --quiet -e '.[s3]'
	$(PIP) install --quiet 'moto[server]>=5' \
		"botocore==$$($(VENV)/bin/python -c 'import botocore; print(botocore.__version__)')"
	$(PIP) install --quiet -e '.[dev]'
	touch $@

repro: setup
	dvc repro

test: setup
	python -m pytest

# Rebuild plots_offline/template.html (vega, vega-lite, vega-embed inlined) from the npm registry.
plots-template:
	python3 plots_offline/build.py

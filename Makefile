# The product's front door: `make demo` and `make test` work on a fresh clone.
VENV ?= .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed-stamp

.PHONY: venv demo test bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $(STAMP)

# compiled programs (BMv2 JSON, P4Info) and switch logs stay in build/demo/
demo: venv
	$(VENV)/bin/p4nic demo --build-dir build/demo

test: venv
	$(VENV)/bin/python -m pytest -q tests

bench: venv
	$(VENV)/bin/p4nic bench

clean:
	rm -rf $(VENV) build *.egg-info

# The product's front door: `make demo` and `make test` work on a fresh clone.
VENV ?= .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed-stamp

.PHONY: venv demo test bench conformance clean

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

# p4nic against p4c's own corpus: make conformance P4C_TESTDATA=/path/to/p4c/testdata
conformance: venv
	@test -n "$(P4C_TESTDATA)" || { echo "usage: make conformance P4C_TESTDATA=DIR (p4c's testdata directory or a p4c checkout)"; exit 2; }
	$(VENV)/bin/p4nic conformance $(P4C_TESTDATA)

clean:
	rm -rf $(VENV) build *.egg-info

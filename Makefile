# The product's front door: `make demo` and `make test` work on a fresh clone.
# Two environments: .venv (p4nic with protobuf's compiled runtime: `demo`, `bench`, the tests)
# and .venv-shell (p4nic with p4runtime-shell, which pins the pure-Python protobuf 3.20: the
# tests that drive p4runtime-shell, and the P4Runtime tests again under that runtime).
VENV ?= .venv
SHELL_VENV ?= .venv-shell
PYTHON ?= python3
STAMP := $(VENV)/.installed-stamp
SHELL_STAMP := $(SHELL_VENV)/.installed-stamp

.PHONY: venv shell-venv python-headers grpc-dev demo test bench conformance clean

venv: $(STAMP)

shell-venv: $(SHELL_STAMP)

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test,fast]'
	touch $(STAMP)

$(SHELL_STAMP): pyproject.toml
	test -x $(SHELL_VENV)/bin/python || $(PYTHON) -m venv $(SHELL_VENV)
	$(SHELL_VENV)/bin/pip install -q --upgrade pip
	$(SHELL_VENV)/bin/pip install -q -e '.[test,shell]'
	touch $(SHELL_STAMP)

# compiled programs (BMv2 JSON, P4Info) and switch logs stay in build/demo/
demo: venv
	$(VENV)/bin/p4nic demo --build-dir build/demo

# The native P4Runtime Write path compiles at first use against Python's headers
# (p4nic/native.py); its tests need them. Debian ships them apart, in python3-dev.
python-headers: venv
	@$(VENV)/bin/python -c "import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')))" \
	  || apt-get install -y -q python3-dev || (apt-get update -q && apt-get install -y -q python3-dev)

# The P4Runtime server's native gRPC front end compiles at first use against the system's gRPC
# core (nic/p4runtime/fronts.py); without it grpcio serves. Debian ships it in libgrpc-dev.
grpc-dev:
	@pkg-config --exists grpc 2>/dev/null || apt-get install -y -q libgrpc-dev pkg-config \
	  || (apt-get update -q && apt-get install -y -q libgrpc-dev pkg-config)

# everything but p4runtime-shell in .venv (P4Runtime served through the native front end); then
# p4runtime-shell's tests and the P4Runtime tests once more, under the pure-Python protobuf of
# .venv-shell and through grpcio's front end
test: venv shell-venv python-headers grpc-dev
	$(VENV)/bin/python -m pytest -q -m 'not shell' tests
	P4NIC_GRPC_FRONT=grpcio $(SHELL_VENV)/bin/python -m pytest -q -m 'shell or p4runtime' tests

bench: venv
	@pkg-config --exists grpc 2>/dev/null || echo "no libgrpc-dev here: P4Runtime is served through grpcio (make grpc-dev installs it)"
	$(VENV)/bin/p4nic bench

# p4nic against p4c's own corpus: make conformance P4C_TESTDATA=/path/to/p4c/testdata
conformance: venv
	@test -n "$(P4C_TESTDATA)" || { echo "usage: make conformance P4C_TESTDATA=DIR (p4c's testdata directory or a p4c checkout)"; exit 2; }
	$(VENV)/bin/p4nic conformance $(P4C_TESTDATA)

clean:
	rm -rf $(VENV) $(SHELL_VENV) build *.egg-info

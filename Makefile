# circ — `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.circ-installed

.PHONY: setup test demo bench lint fuzz clean

setup: $(STAMP)

# torch is installed first, pinned: anything unpinned would pull gigabytes of CUDA wheels.
$(STAMP): pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[frameworks,test]'
	# mindcv (real MindSpore models for the tests) needs only numpy, PyYAML and tqdm, all
	# installed by now; --no-deps keeps pip from re-resolving mindspore
	$(PY) -m pip install -q --no-deps mindcv==0.3.0
	# torchvision for the model zoo's torchvision architectures, in a folder of its own (not
	# site-packages: transformers/diffusers would import it everywhere, and its extension needs
	# the CUDA torch); --no-deps keeps the CPU torch. See tests/torchvision_compat.py
	$(PY) -m pip install -q --no-deps --target $(VENV)/torchvision torchvision==0.28.0
	# headless Chromium for tests/test_report.py (Debian's package; needs root, skipped when present)
	command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } || \
	  echo "note: chromium not installed (not root): the report page test will be skipped"
	touch $(STAMP)

test: lint
	$(PY) -m pytest -q -n 2 --durations=25 tests
	$(VENV)/bin/lit -sv tests/filecheck

demo: setup
	$(VENV)/bin/circ demo

# the fuzz harnesses of tests/fuzz with many random cases (make test runs a bounded,
# derandomised few thousand); CIRC_FUZZ_EXAMPLES=N sets the cases per harness
fuzz: setup
	CIRC_FUZZ_PROFILE=fuzz $(PY) -m pytest -q -n 2 tests/fuzz

bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# ruff on everything; pyright (basic) on the compiler. setup.py maps dialects/ passes/ lowering/
# runtime/ under the `cir` import root, which pyright cannot follow through the editable install:
# build/typeroot/cir mirrors that root with links so `cir.passes...` resolves to these files.
lint: setup
	$(VENV)/bin/ruff check cir dialects passes lowering runtime tests
	rm -rf build/typeroot && mkdir -p build/typeroot/cir
	for f in cir/*; do ln -s ../../../$$f build/typeroot/cir/; done
	for d in dialects passes lowering runtime; do ln -s ../../../$$d build/typeroot/cir/$$d; done
	$(VENV)/bin/pyright cir passes lowering runtime

clean:
	rm -rf $(VENV) out build *.egg-info

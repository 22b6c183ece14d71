# lamina — `make demo` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# Brian2 2.10 needs Python 3.12: take $(PYTHON312) if given, else python3.12 on PATH,
# else pyenv's 3.12.x, else /usr/bin/python3.12.
PYTHON312 ?= $(shell for c in python3.12 $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3.12 2>/dev/null | sort -V | tail -1) /usr/bin/python3.12 /usr/local/bin/python3.12; do \
	if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; assert sys.version_info[:2]==(3,12)' 2>/dev/null; then command -v $$c; break; fi; done)
export LAMINA_CACHE ?= $(CURDIR)/.lamina-cache
# The suite runs on 2 cores; keep BLAS/numba from oversubscribing them.
export OMP_NUM_THREADS ?= 1

.PHONY: env demo test bench figures clean

env: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@if [ -z "$(PYTHON312)" ]; then echo "lamina needs Python 3.12 (Brian2 2.10.1 does not install on 3.11)."; \
	  echo "Install it (e.g. 'pyenv install 3.12' or 'apt-get install python3.12 python3.12-venv') or run 'make PYTHON312=/path/to/python3.12'."; exit 1; fi
	@echo "lamina: creating $(VENV) with $(PYTHON312)"
	$(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

demo: env
	$(VENV)/bin/lamina run sims/quickstart.toml -o results/quickstart --figure figures/quickstart.png

test: env
	$(PY) -m pytest -q --durations=15 tests --nbmake analysis/explore_results.ipynb

bench: env
	$(PY) benchmarks/bench_quickstart.py
	$(PY) benchmarks/bench_analysis.py
	$(PY) benchmarks/bench_sweep.py --workers 2 --naive 3

figures: env
	$(VENV)/bin/lamina figures fig1 fig2 fig3 fig3_packets --scale small

clean:
	rm -rf results figures .lamina-cache .pytest_cache
	# numba's on-disk cache (lamina.analysis also empties it itself when its sources change)
	find lamina -name '*.nbi' -delete -o -name '*.nbc' -delete

# 全域整治 Land Consolidation — developer commands. `make test` and `make demo` set
# everything up on a fresh Debian 12 machine (apt packages as root, then .venv).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
QGIS_PROCESS := tools/qgis-process
OUT := out

export QT_QPA_PLATFORM := offscreen
export PROJ_DATA := /usr/share/proj

.PHONY: deps test test-fast test-matrix demo package lint typecheck bench clean sample model templates

deps: $(VENV)/.deps-stamp
	@tools/install-system-deps

$(VENV)/.deps-stamp: requirements.txt requirements-dev.txt tools/install-system-deps
	tools/install-system-deps
	test -x $(PY) || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) tools/check-python-deps
	touch $@

# Everything: tests/engine, tests/qgis (pytest-qgis, offscreen) and tests/desktop (QGIS under Xvfb).
test: deps
	$(VENV)/bin/pytest tests

# The engine tests alone, without pytest-qgis (no QgsApplication, PyQGIS refused): well under a minute.
test-fast: deps
	$(VENV)/bin/pytest -p no:pytest_qgis tests/engine

# `make test` on QGIS 3.22, 3.40 and 3.44 (Debian chroots, cached) and the same figures on each.
test-matrix:
	tools/test-matrix

demo: deps
	$(PY) tools/demo.py --out $(OUT)

package: deps
	$(PY) tools/package.py --out dist

# ruff over the whole tree, then mypy over the packages pyproject.toml's [tool.mypy] lists. mypy reads
# them as QGIS imports them, as the package land_consolidation: the symlink .build/plugins/land_consolidation
# (tools/check-python-deps makes it; remade here if it points at another checkout).
define typecheck_recipe
	@mkdir -p .build/plugins
	@test "$$(readlink -f .build/plugins/land_consolidation)" = "$$(pwd -P)" || ln -sfn "$$(pwd -P)" .build/plugins/land_consolidation
	$(PY) -m mypy
endef

lint: deps
	$(PY) -m ruff check .
	$(typecheck_recipe)

typecheck: deps
	$(typecheck_recipe)

bench: deps
	$(PY) tests/bench/run_bench.py --out $(OUT)/bench

# Regenerate the shipped sample GeoPackage (deterministic).
sample: deps
	$(PY) -m tools.sample --out resources/sample/sample_pianqu.gpkg

# Regenerate the bundled graphical model (resources/models/单元方案检查.model3).
model: deps
	$(PY) tools/make_model.py

# Regenerate the report templates (Word styles, map layout).
templates: deps
	$(PY) tools/make_templates.py

clean:
	rm -rf $(OUT) dist .build .pytest_cache .ruff_cache

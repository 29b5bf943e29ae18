# The two quick-start commands are `make docs` and `make test`; both set
# everything up first (a virtual environment in .venv with the pinned versions).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BACKENDS := tensorflow jax torch
# The backend the docs site's tutorials run on (any of BACKENDS works).
DOCS_BACKEND ?= jax
# Python sources and notebooks (ruff would also reformat code in Markdown).
LINT_PATHS := keras_dropout tests tests_browser benchmarks tutorials tools
export TF_CPP_MIN_LOG_LEVEL := 3

.PHONY: setup docs serve site-test lab test compat lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[all]"
	# keras-hub for tests/test_mc_keras.py, without its dependencies: they
	# pull tensorflow-text and so full `tensorflow`, which would clash with
	# tensorflow-cpu. What it imports for the backbones tested is below.
	$(BIN)/python -m pip install --quiet --no-deps -c constraints.txt \
		keras-hub regex tokenizers
	touch $@

docs: setup
	KERAS_BACKEND=$(DOCS_BACKEND) $(BIN)/mkdocs build --strict
	@echo "Docs site built: $(CURDIR)/site/index.html (browse it with: make serve)"

serve: setup
	KERAS_BACKEND=$(DOCS_BACKEND) $(BIN)/mkdocs serve

# The built site (run `make docs` first) in Debian's Chromium, driven by
# Playwright (tests_browser/); installs either one if it is missing.
# Screenshots go to build/screenshots/.
site-test: setup
	@test -x /usr/bin/chromium || { \
		if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium; }
	@$(BIN)/python -c "import playwright" 2>/dev/null || \
		$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[browser]"
	$(BIN)/python -m pytest -p no:cacheprovider tests_browser

# The tutorials in JupyterLab, on LAB_BACKEND (default: the docs site's);
# installs the tutorials extra if JupyterLab is missing. JUPYTER_ARGS go to
# `jupyter lab` (JUPYTER_ARGS=--no-browser where no browser should open);
# as root (containers), it adds --allow-root.
LAB_BACKEND ?= $(DOCS_BACKEND)
JUPYTER_ARGS ?=
lab: setup
	@$(BIN)/python -c "import jupyterlab" 2>/dev/null || \
		$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[tutorials]"
	@echo "Notebooks in tutorials/ are stored without outputs: clear them before committing one."
	KERAS_BACKEND=$(LAB_BACKEND) $(BIN)/jupyter lab --notebook-dir=tutorials \
		$$(test "$$(id -u)" = 0 && echo --allow-root) $(JUPYTER_ARGS)

lint: setup
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

# The whole suite once per backend, each backend in its own processes:
# pytest-xdist spreads the tests over TEST_JOBS workers (default: one per
# CPU); tests marked with the same xdist_group share a worker.
TEST_JOBS ?= auto
test: setup lint
	@for backend in $(BACKENDS); do \
		echo "=== pytest on $$backend ==="; \
		KERAS_BACKEND=$$backend KERAS_DROPOUT_REQUIRE_HUB=1 \
			$(BIN)/python -m pytest -p no:cacheprovider \
			-n $(TEST_JOBS) --dist loadgroup || exit 1; \
	done

# The oldest and newest Keras: each in its own virtual environment
# (.venv-keras-oldest, .venv-keras-newest) with one backend, installed from
# compat/keras-<name>.txt (exact pins) and reused while that file and
# pyproject.toml are unchanged. Runs the smoke subset on one worker: the
# tests marked `compat`, in the files that hold them, then
# tests/test_compat.py whole where it exists. Checks both, then fails if one
# failed.
COMPAT := oldest newest
COMPAT_BACKEND := torch
COMPAT_TESTS = $(filter-out tests/test_compat.py,\
	$(shell grep -l '@pytest.mark.compat' tests/test_*.py))

.venv-keras-%/.installed: compat/keras-%.txt pyproject.toml
	$(PYTHON) -m venv .venv-keras-$*
	.venv-keras-$*/bin/python -m pip install --quiet --upgrade pip
	.venv-keras-$*/bin/python -m pip install --quiet -r $< -e .
	touch $@

compat: $(COMPAT:%=.venv-keras-%/.installed)
	@failed=; for name in $(COMPAT); do \
		bin=.venv-keras-$$name/bin; \
		version=$$($$bin/python -c \
			"import importlib.metadata as m; print(m.version('keras'))"); \
		echo "=== pytest -m compat on keras $$version ($$name), $(COMPAT_BACKEND) ==="; \
		KERAS_BACKEND=$(COMPAT_BACKEND) $$bin/python -m pytest -p no:cacheprovider \
			-m compat $(COMPAT_TESTS) || failed="$$failed $$version"; \
		if [ -f tests/test_compat.py ]; then \
			echo "=== tests/test_compat.py on keras $$version ($$name) ==="; \
			KERAS_BACKEND=$(COMPAT_BACKEND) $$bin/python -m pytest \
				-p no:cacheprovider tests/test_compat.py || failed="$$failed $$version"; \
		fi; \
	done; \
	if [ -n "$$failed" ]; then echo "make compat failed on keras$$failed"; exit 1; fi

bench: setup
	$(BIN)/python benchmarks/suite.py

clean:
	rm -rf $(VENV) .venv-keras-* site build dist *.egg-info

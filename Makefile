# The two quick-start commands are `make docs` and `make test`; both set
# everything up first (a virtual environment in .venv with the pinned versions).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BACKENDS := tensorflow jax torch
# The backend the docs site's tutorials run on (any of BACKENDS works).
DOCS_BACKEND ?= jax
# Python sources and notebooks (ruff would also reformat code in Markdown).
LINT_PATHS := keras_dropout tests benchmarks tutorials
export TF_CPP_MIN_LOG_LEVEL := 3

.PHONY: setup docs serve test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[all]"
	touch $@

docs: setup
	KERAS_BACKEND=$(DOCS_BACKEND) $(BIN)/mkdocs build --strict
	@echo "Docs site built: $(CURDIR)/site/index.html (browse it with: make serve)"

serve: setup
	KERAS_BACKEND=$(DOCS_BACKEND) $(BIN)/mkdocs serve

lint: setup
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

# The whole suite once per backend, each in its own process.
test: setup lint
	@for backend in $(BACKENDS); do \
		echo "=== pytest on $$backend ==="; \
		KERAS_BACKEND=$$backend $(BIN)/python -m pytest -p no:cacheprovider || exit 1; \
	done

bench: setup
	$(BIN)/python benchmarks/rng.py

clean:
	rm -rf $(VENV) site build dist *.egg-info

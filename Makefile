# The two commands: `make run` (the main job) and `make test`. Both set up .venv first.
# `make test-fast` is the development tier: no test marked slow or browser.
SHELL := /bin/bash
VENV := .venv/bin
# This repository's checkout has full MNIST beside it; elsewhere torchvision downloads it.
export MNIST_ROOT ?= $(if $(wildcard ../shared/data/mnist/MNIST/raw),$(abspath ../shared/data/mnist))

.PHONY: run test test-fast setup bench build release
VERSION ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' course/course.toml)

setup:
	@scripts/setup
	@scripts/setup-speech
	@scripts/setup-sandbox

run: setup
	$(VENV)/firstmlp demo

# Two pytest-xdist workers, each module whole on one, the modules with the most slow tests
# first (tests/conftest.py); PYTEST_WORKERS= or FAST_WORKERS= runs serially. The figures
# are in README's Tests section.
XDIST := -n 2 --dist loadfile --no-loadscope-reorder
PYTEST_WORKERS ?= $(XDIST)
FAST_WORKERS ?= $(XDIST)

# mypy runs beside pytest (its report after pytest's); either failing fails make test.
test: setup
	@scripts/setup-browser
	@report=$$(mktemp); $(VENV)/mypy > "$$report" 2>&1 & checking=$$!; \
	echo "$(VENV)/mypy, beside: $(VENV)/pytest -q $(PYTEST_WORKERS) --durations=15"; \
	$(VENV)/pytest -q $(PYTEST_WORKERS) --durations=15; tested=$$?; \
	wait $$checking; checked=$$?; echo "$(VENV)/mypy:"; cat "$$report"; rm -f "$$report"; \
	[ $$tested = 0 ] && [ $$checked = 0 ]

test-fast: setup
	$(VENV)/pytest -q $(FAST_WORKERS) -m "not slow and not browser" --durations=15

build: setup
	$(VENV)/firstmlp build

release: setup
	$(VENV)/firstmlp release --version $(VERSION) $(if $(FORCE),--force)

bench: setup
	$(VENV)/python bench/mnist_mlp.py
	$(VENV)/python bench/course_notebooks.py
	$(VENV)/python bench/speech_frames.py
	$(VENV)/python bench/threads.py

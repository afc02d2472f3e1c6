# The two commands: `make run` (the main job) and `make test`. Both set up .venv first.
SHELL := /bin/bash
VENV := .venv/bin
# This repository's checkout has full MNIST beside it; elsewhere torchvision downloads it.
export MNIST_ROOT ?= $(if $(wildcard ../shared/data/mnist/MNIST/raw),$(abspath ../shared/data/mnist))

.PHONY: run test setup bench build release
VERSION ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' course/course.toml)

setup:
	@scripts/setup
	@scripts/setup-speech
	@scripts/setup-sandbox

run: setup
	$(VENV)/firstmlp demo

test: setup
	@scripts/setup-browser
	$(VENV)/pytest -q

build: setup
	$(VENV)/firstmlp build

release: setup
	$(VENV)/firstmlp release --version $(VERSION) $(if $(FORCE),--force)

bench: setup
	$(VENV)/python bench/mnist_mlp.py
	$(VENV)/python bench/course_notebooks.py
	$(VENV)/python bench/speech_frames.py

# plasticore: the Makefile only delegates. Every target runs `setup` first (idempotent).
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup test test-quick test-long hdl bench reports lint synth clean

setup:
	@bash tools/setup.sh

test: setup
	$(PY) -m pytest -q --durations=20

# the reference-model tests only (no MyHDL elaboration, simulator or synthesis): about 1.5 min on 2 cores
MODEL_TESTS := tests/test_online_o1*.py tests/test_rstdp.py tests/test_stp.py tests/test_homeostasis.py \
	tests/test_structural.py tests/test_gradient*.py tests/test_callbacks.py tests/test_schedulers.py tests/test_lif.py \
	tests/test_checkpoints.py tests/test_learner_convention.py tests/test_rough_edges.py tests/test_meta.py \
	tests/test_lifelong.py tests/test_native.py tests/test_nir.py tests/test_o1_network.py tests/test_o1_tasks.py \
	tests/test_host_driver.py tests/test_federated.py

test-quick: setup
	$(PY) -m pytest -q -m "not slow" $(MODEL_TESTS)

test-long: setup
	PLASTICORE_LONG=1 $(PY) -m pytest -q

hdl: setup
	$(PY) -m plasticore.hw.build --out build/hdl

bench: setup
	$(PY) tools/online_o1_throughput_benchmark.py --output reports/online_o1_throughput.json
	$(PY) tools/online_o1_adaptation_benchmark.py --output reports/online_o1_adaptation_benchmark.json
	$(PY) tools/training_speed_benchmark.py --output reports/training_speed.json
	$(PY) tools/meta_learning_benchmark.py --iterations 15000 --output reports/meta_learning.json
	$(PY) tools/continual_learning_benchmark.py --output reports/continual_learning.json
	$(PY) tools/core_throughput_benchmark.py --output reports/core_throughput.json
	$(PY) tools/federated_benchmark.py --experiment --output reports/federated.json
	$(PY) tools/neuroevolution_benchmark.py --suite --output reports/neuroevolution.json
	$(PY) tools/rounding_benchmark.py --output reports/rounding.json

reports: setup
	$(PY) tools/plasticity_report.py --out reports

lint: setup
	$(PY) -m ruff check .
	@mkdir -p build/typecheck && ln -sfn "$(CURDIR)" build/typecheck/plasticore
	$(PY) -m mypy

synth: setup
	$(PY) -m plasticore.flows.synth $(if $(SCHEDULER),--scheduler $(SCHEDULER))
	$(PY) -m plasticore.flows.board

clean:
	rm -rf build

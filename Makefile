# Two commands a newcomer needs: `make test` and `make run`. Both create .venv on first use.
# `make lab` opens the notebooks in JupyterLab (installs requirements-lab.txt on first use).
# A notebook's own settings: make run PARAMS='copies=0 n_repeats=2' (each NAME=VALUE goes to every selected
# notebook whose parameters cell has NAME, typed like its default; quote a value with spaces: PARAMS="a='x y'").
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

DATA_DIR ?=
OUT_DIR ?=
PROFILE ?= default
NOTEBOOKS ?=
SEED ?= 42
DEVICE ?= auto
PARAMS ?=

# Paths and PARAMS travel as environment variables, not words on the command line, so a DATA_DIR or OUT_DIR
# with spaces arrives whole (the runner reads $DATA_DIR, $OUT_DIR and $PARAMS itself).
export DATA_DIR OUT_DIR PARAMS
# No NOTEBOOKS: all but the profile's PROFILE_LEAVES_OUT (utils/config.py); NOTEBOOKS=all runs every notebook.
RUN_ARGS := --profile '$(PROFILE)' $(if $(NOTEBOOKS),--notebooks '$(NOTEBOOKS)') --seed '$(SEED)' --device '$(DEVICE)'

.PHONY: venv test run lab bench predict clean-cache

venv: $(STAMP)

# Reinstall only when requirements.txt changes.
$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

run: $(STAMP)
	$(PY) -m utils.run $(RUN_ARGS)

# JupyterLab with jupytext: notebooks/NN_*.py open as notebooks (double-click) and save back to the .py,
# paired with an ignored .ipynb that keeps the outputs (jupytext.toml). LAB_ARGS=--no-browser for a server.
LAB_STAMP := $(VENV)/.lab-installed
LAB_PORT ?= 8888
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings

$(LAB_STAMP): requirements-lab.txt $(STAMP)
	$(PY) -m pip install --quiet -r requirements-lab.txt
	touch $(LAB_STAMP)

lab: $(LAB_STAMP)
	mkdir -p $(LAB_SETTINGS)
	cp jupyterlab-overrides.json $(LAB_SETTINGS)/overrides.json
	$(PY) -m jupyter lab --ServerApp.root_dir=. --ip=127.0.0.1 --port=$(LAB_PORT) \
		$(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# Score new light curves with a finished run: make predict RUN=submissions/<id> DATA_DIR=<folder> [KIND=test]
# [PREDICT_OUT=<new folder>] [CHUNK_SIZE=2000]. Input layout and outputs: utils/serve/predict.py.
RUN ?=
KIND ?=
export RUN
PREDICT_OUT ?=
export PREDICT_OUT
CHUNK_SIZE ?= 2000

predict: $(STAMP)
	@test -n "$(RUN)" -a -n "$(DATA_DIR)" || { echo "error: make predict needs RUN=<run folder> DATA_DIR=<folder>" >&2; exit 2; }
	$(PY) -m utils.serve --run "$$RUN" --data-dir "$$DATA_DIR" --chunk-size '$(CHUNK_SIZE)' --device '$(DEVICE)' \
		$(if $(KIND),--kind '$(KIND)') $(if $(PREDICT_OUT),--out "$$PREDICT_OUT")

bench: $(STAMP)
	$(PY) benchmarks/data_speed.py $(if $(DATA_DIR),--data-dir "$$DATA_DIR")

clean-cache:
	rm -rf cache

# Kaggle GPU kernel (utils/kaggle_kernel/): build a self-contained notebook from the last commit,
# push it, watch it, fetch its outputs into submissions/kaggle-<time>/, submit a file.
# ALLOW_DIRTY=1 builds from uncommitted changes; FILE=... MESSAGE="..." for kaggle-submit.
KAGGLE_DIR := build/kaggle

.PHONY: kaggle kaggle-push kaggle-status kaggle-output kaggle-submit

kaggle: $(STAMP)
	$(PY) -m utils.kaggle_kernel build --out $(KAGGLE_DIR)

kaggle-push: kaggle
	$(PY) -m utils.kaggle_kernel push --dir $(KAGGLE_DIR)

kaggle-status: $(STAMP)
	$(PY) -m utils.kaggle_kernel status --dir $(KAGGLE_DIR)

kaggle-output: $(STAMP)
	$(PY) -m utils.kaggle_kernel output --dir $(KAGGLE_DIR)

kaggle-submit: $(STAMP)
	$(PY) -m utils.kaggle_kernel submit $(FILE) $(if $(MESSAGE),--message "$(MESSAGE)")

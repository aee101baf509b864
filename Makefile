# evcap: one plain Makefile. `make` builds evcap and evcapd under $(BUILD)/;
# `make check` installs missing Debian packages (as root) and runs every test;
# `make check-san` does the same under ASan + UBSan; `make demo` runs the main
# job end to end on generated data.

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= cc

PKGS := libexif libgps sqlite3 libcurl libcrypto jansson libxml-2.0 libsodium libjpeg libxxhash libheif
HAVE_SYSTEMD := $(shell pkg-config --exists libsystemd 2>/dev/null && echo 1)
ifeq ($(HAVE_SYSTEMD),1)
PKGS += libsystemd
DEFS += -DHAVE_SYSTEMD=1
endif
HAVE_BLKID := $(shell pkg-config --exists blkid 2>/dev/null && echo 1)
ifeq ($(HAVE_BLKID),1)
PKGS += blkid
DEFS += -DHAVE_BLKID=1
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# libcurl, libxml2, libheif, libgps and libsystemd are opened on first use
# (common/dynlib.h), so the programs are linked --as-needed and do not list
# them. dlopen is given the soname of the library the headers came with;
# sync/s3.c, capture/gpx.c, export/thumb_heif.c, capture/gpsclient.c,
# capture/daemon.c and cli/cmd_notify.c fall back to Debian 12's when this
# cannot be read.
soname_of = $(shell objdump -p "$$(pkg-config --variable=libdir $(1) 2>/dev/null)/lib$(2).so" 2>/dev/null | awk '$$1 == "SONAME" {print $$2}')
SONAME_CURL := $(call soname_of,libcurl,curl)
SONAME_XML2 := $(call soname_of,libxml-2.0,xml2)
SONAME_HEIF := $(call soname_of,libheif,heif)
SONAME_GPS  := $(call soname_of,libgps,gps)
SONAME_SYSTEMD := $(if $(HAVE_SYSTEMD),$(call soname_of,libsystemd,systemd))
DEFS += $(if $(SONAME_CURL),-DEVCAP_SONAME_CURL='"$(SONAME_CURL)"') \
        $(if $(SONAME_XML2),-DEVCAP_SONAME_XML2='"$(SONAME_XML2)"') \
        $(if $(SONAME_HEIF),-DEVCAP_SONAME_HEIF='"$(SONAME_HEIF)"') \
        $(if $(SONAME_GPS),-DEVCAP_SONAME_GPS='"$(SONAME_GPS)"') \
        $(if $(SONAME_SYSTEMD),-DEVCAP_SONAME_SYSTEMD='"$(SONAME_SYSTEMD)"')

WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
        -Wmissing-prototypes -Wvla -Wno-format-nonliteral
ifdef WERROR
WARN += -Werror
endif
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(DEFS) $(WARN) $(CFLAGS) \
              -Icommon -Icapture -Isync -Iexport $(PKG_CFLAGS) -MMD -MP
LDLIBS := -Wl,--as-needed $(PKG_LIBS) -lm

# Library code: every .c in these folders except the program mains.
LIB_SRC  := $(filter-out %_main.c,$(wildcard common/*.c capture/*.c sync/*.c export/*.c))
CLI_SRC  := $(wildcard cli/*.c)
D_SRC    := capture/evcapd_main.c
UNIT_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
D_OBJ    := $(D_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
LIBA     := $(BUILD)/libevcap.a

.PHONY: all check check-san san-bin check-valgrind demo bench fuzz fuzz-bin install install-appliance clean deps deps-check deps-demo man

all: $(BUILD)/evcap $(BUILD)/evcapd $(BUILD)/sync/s3-typecheck.o

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# sync/s3.c once more, calling libcurl's own declarations instead of the
# pointers it loads, so that curl's compile-time checks of every
# curl_easy_setopt argument still run. The object is not linked.
$(BUILD)/sync/s3-typecheck.o: sync/s3.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DEVCAP_CURL_TYPECHECK -c $< -o $@

# SAN_OBJ: objects linked into every program of the sanitizer build only
# (check-san sets it; see tests/support/san_prefault.c)
SAN_OBJ ?=

$(BUILD)/evcap: $(CLI_OBJ) $(LIBA) $(SAN_OBJ)
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(SAN_OBJ) $(LIBA) $(LDLIBS)

$(BUILD)/evcapd: $(D_OBJ) $(LIBA) $(SAN_OBJ)
	$(CC) $(CFLAGS) -o $@ $(D_OBJ) $(SAN_OBJ) $(LIBA) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIBA) $(SAN_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(SAN_OBJ) $(LIBA) $(LDLIBS)

# the demo's and tests' sample-card generator
$(BUILD)/mksample: scripts/mksample.c scripts/synth-exif.h scripts/synth-mp4.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDLIBS)

# the tests' video generator
$(BUILD)/mkmp4: scripts/mkmp4.c scripts/synth-mp4.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $<

tests-bin: all $(BUILD)/mksample $(BUILD)/mkmp4 $(UNIT_BIN)
.PHONY: tests-bin

# check, check-san and demo build with one compiler per CPU, unless make
# was given its own -j.
NPROC := $(shell nproc 2>/dev/null || echo 1)
JOBS = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(NPROC))

deps-check:
	@scripts/install-deps check
deps-demo:
	@scripts/install-deps demo

# TESTS='unit/test_hash integration/ingest' narrows the run.
check: deps-check
	@$(MAKE) --no-print-directory $(JOBS) tests-bin
	@BUILD=$(BUILD) tests/run.sh $(TESTS)

SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# check-san keeps the tests' temporary files in memory (/dev/shm, when it is
# a tmpfs we may write with 4 GiB free; a container's is often 64 MB)
# unless TMPDIR or SAN_TMPDIR says where: it looks for memory errors, and
# make check has run every test on the disk already. The second file system
# also lists a directory in another order than ext4 and may refuse
# O_DIRECT, so the code paths for both are run; it found a count that hung
# on ext4's order.
SAN_TMPDIR ?= $(or $(TMPDIR),$(shell d=/dev/shm; [ -d $$d ] && [ -w $$d ] && \
	[ "$$(stat -f -c %T $$d 2>/dev/null)" = tmpfs ] && \
	[ "$$(stat -f -c '%a * %S / 1073741824' $$d | xargs expr 2>/dev/null)" -ge 4 ] && \
	echo $$d),/tmp)
# san-bin: the sanitizer build alone, the tests not run
san-bin:
	@$(MAKE) --no-print-directory $(JOBS) BUILD=build-san CFLAGS="$(SAN_FLAGS)" \
	  SAN_OBJ=build-san/tests/support/san_prefault.o tests-bin
check-san: deps-check
	@$(MAKE) --no-print-directory san-bin
	@BUILD=build-san EVCAP_SAN=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 TMPDIR=$(SAN_TMPDIR) tests/run.sh $(TESTS)

# The integration suite with every evcap run under valgrind's memcheck (slow:
# not part of CI). Reports land in $(BUILD)/valgrind/vg-PID.log. Metadata
# parses get a longer time limit, and libjpeg-turbo runs without its SIMD
# code, which memcheck cannot follow.
check-valgrind: deps-check
	@$(MAKE) --no-print-directory $(JOBS) tests-bin
	@rm -rf $(BUILD)/valgrind && mkdir -p $(BUILD)/valgrind
	@BUILD=$(BUILD) EVCAP_VALGRIND=$(abspath $(BUILD))/valgrind EVCAP_TEST_TIMEOUT=1800 EVCAP_META_TIMEOUT=120 JSIMD_FORCENONE=1 \
	  tests/run.sh $(patsubst tests/%.sh,%,$(wildcard tests/integration/*.sh)); \
	  rc=$$?; bad=$$(find $(BUILD)/valgrind -name 'vg-*.log' -size +0 2>/dev/null); \
	  [ -z "$$bad" ] || { echo "memcheck found errors: $$bad"; exit 1; }; exit $$rc

demo: deps-demo
	@$(MAKE) --no-print-directory $(JOBS) all $(BUILD)/mksample
	@BUILD=$(BUILD) scripts/demo.sh

bench: deps-check all
	@BUILD=$(BUILD) bench/run.sh

FUZZ_SECONDS ?= 30
fuzz: deps-check
	@BUILD=build-fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh
# the fuzzers built, not run
fuzz-bin:
	@BUILD=build-fuzz FUZZ_BUILD_ONLY=1 tests/fuzz/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0755 $(BUILD)/evcap $(BUILD)/evcapd $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 docs/man/evcap.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 docs/man/evcapd.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -d $(DESTDIR)$(PREFIX)/share/evcap/sensors
	install -m 0644 firmware-config/sensors/*.profile $(DESTDIR)$(PREFIX)/share/evcap/sensors/

install-appliance: install
	@DESTDIR=$(DESTDIR) PREFIX=$(PREFIX) firmware-config/install.sh

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

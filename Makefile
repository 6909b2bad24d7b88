# gatehouse - one milter for SPF, DKIM, DMARC and rules.
#
#   make                 build ./build/gatehouse
#   make check           unit tests (Check) and engine tests; no root needed
#   make test            install packages, build, check, sanitizer runs, integration (root)
#   make run             install packages, build, run in the foreground with defaults
#   make SANITIZER=address check   (or undefined, or address,undefined)
#   make install DESTDIR=/tmp/stage
#   make package-test    build the .deb, lintian, start the installed unit's commands (root)
#   make bench           benchmarks against OpenDKIM + OpenDMARC (root)
#   make format          apply .clang-format to the product code
#   make docs            regenerate packaging/gatehouse.conf and the generated man page sections
#   make bench-rules     what rules cost per message (no root)
#   make bench-ratelimit what rate limits cost per message, memory per counter (no root)
#   make bench-metrics   what counting metrics costs per message (root)
#   make fuzz-all FUZZ_SECONDS=60   every libFuzzer target in turn (clang)

CC       ?= cc
# Sub-makes without "Entering/Leaving directory": the last line of make test
# is then the integration suite's "N passed, M failed".
MAKEFLAGS += --no-print-directory
PKGS     := libconfuse jansson libunbound ldns opendkim gmime-3.0 libidn2 libpcre2-8 libhs libsystemd hiredis libcrypto libmicrohttpd sqlite3 libxml-2.0 zlib
LIBS_NOPC := -lspf2 -lresolv	# libspf2 ships no .pc file; libresolv is glibc's (ns_parserr)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) $(LIBS_NOPC)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-missing-field-initializers
CFLAGS   ?= -O2 -g
CPPFLAGS += -D_GNU_SOURCE -Iinclude
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) $(PKG_CFLAGS) -pthread

SANITIZER ?=
ifneq ($(SANITIZER),)
ALL_CFLAGS += -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZER)
BUILD    ?= build/$(subst $(comma),-,$(SANITIZER))
else
BUILD    ?= build
endif
comma := ,

PREFIX   ?= /usr/local
SBINDIR  ?= $(PREFIX)/sbin
MANDIR   ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
DOCDIR   ?= $(PREFIX)/share/doc/gatehouse
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
ifeq ($(PREFIX),/usr)
UNITDIR  ?= /lib/systemd/system
else
UNITDIR  ?= $(PREFIX)/lib/systemd/system
endif

# The engine library: everything but the daemon's main and the libmilter glue,
# so unit tests, test mode and fuzzers link exactly the code the daemon runs.
# Layers are folders (filter/README.md); objects mirror them under $(BUILD)/obj.
# The daemon's own files (sockets, signals, systemd) stay out of the library
# the tests and fuzzers link; test mode and the shared daemon state are in
# it (the tests drive them).
DAEMON_ONLY := $(filter-out filter/daemon/testmode.c filter/daemon/daemon.c,$(wildcard filter/daemon/*.c))
ENGINE_SRC := $(filter-out $(DAEMON_ONLY),$(wildcard filter/*/*.c))
RULES_SRC  := $(wildcard rules/*.c)
ENGINE_OBJ := $(patsubst filter/%.c,$(BUILD)/obj/%.o,$(ENGINE_SRC)) \
              $(patsubst rules/%.c,$(BUILD)/obj/rules/%.o,$(RULES_SRC))
DAEMON_OBJ := $(patsubst filter/%.c,$(BUILD)/obj/%.o,$(DAEMON_ONLY))
DEPS       := $(ENGINE_OBJ:.o=.d) $(DAEMON_OBJ:.o=.d)
UNIT_SRC   := $(wildcard tests/unit/check_*.c)
UNIT_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: all check outbound-tests layers-check format format-check unit engine-tests test run deps install docs docs-check clean \
        integration sanitize fuzz-replay fuzz fuzz-all valgrind spf-suite dkim-tests integration-asan dnssec-tests bench bench-rules \
        package-test

all: $(BUILD)/gatehouse

# -MMD -MP: each object depends on the headers it really includes.
$(BUILD)/obj/%.o: filter/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/obj/rules/%.o: rules/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

-include $(DEPS)

$(BUILD)/libgatehouse.a: $(ENGINE_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/gatehouse: $(DAEMON_OBJ) $(BUILD)/libgatehouse.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(BUILD)/libgatehouse.a | $(BUILD)/tests
	$(CC) $(CPPFLAGS) -Itests/unit $(ALL_CFLAGS) $(CHECK_CFLAGS) $(LDFLAGS) -o $@ $< \
		$(BUILD)/libgatehouse.a $(PKG_LIBS) $(CHECK_LIBS)

# Test tools: a DKIM signer for the DKIM tests (keys are made at test time).
$(BUILD)/tests/dkim_sign: tests/tools/dkim_sign.c | $(BUILD)/tests
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -Wno-missing-prototypes $(LDFLAGS) -o $@ $< $(PKG_LIBS)

$(BUILD)/tests $(BUILD)/fuzz:
	mkdir -p $@

# make check: layers, unit tests, engine tests through test mode, fuzz corpora
# replayed, the RFC 7208 SPF suite, shipped docs in sync.
check: layers-check format-check unit engine-tests dkim-tests outbound-tests fuzz-replay spf-suite docs-check

# The house style is .clang-format; product code must match it.
FORMAT_SRC = $(sort $(wildcard filter/*/*.c include/*/*.h rules/*.c))
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRC) && echo "format: product code matches .clang-format"

# Includes point down the layers only (table in tests/layers.sh).
layers-check:
	tests/layers.sh

# DKIM verification on messages signed at test time (tests/dkim/run.sh).
dkim-tests: $(BUILD)/gatehouse $(BUILD)/tests/dkim_sign
	tests/dkim/run.sh $(BUILD)/gatehouse $(BUILD)/tests/dkim_sign

# Sender identity and DKIM signing through test mode; every signature is
# verified by python3-dkim and by gatehouse's own inbound check.
outbound-tests: $(BUILD)/gatehouse
	tests/outbound/run.sh $(BUILD)/gatehouse

# RFC 7208 conformance: the openspf suite (python3-spf) through test mode.
SPF_SUITE ?= /usr/share/doc/python3-spf/rfc7208-tests.yml.gz
spf-suite: $(BUILD)/gatehouse
	python3 tests/spf/rfc7208.py $(BUILD)/gatehouse --suite $(SPF_SUITE) \
		-c tests/spf/suite.conf --known tests/spf/known-misses.txt

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; CK_FORK=yes $$t; done

engine-tests: $(BUILD)/gatehouse
	tests/engine/run.sh $(BUILD)/gatehouse

# Fuzz targets built with a plain driver (tests/fuzz/replay.c) so the stored
# corpora run as regression tests under gcc and the sanitizers.
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY  := $(patsubst %,$(BUILD)/fuzz/replay_%,$(FUZZ_TARGETS))

$(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(wildcard tests/fuzz/*.h) \
		$(BUILD)/libgatehouse.a | $(BUILD)/fuzz
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay.c \
		$(BUILD)/libgatehouse.a $(PKG_LIBS)

fuzz-replay: $(FUZZ_REPLAY)
	@set -e; for t in $(FUZZ_TARGETS); do \
		$(BUILD)/fuzz/replay_$$t tests/fuzz/corpus/$$t; done

# Coverage-guided fuzzing with clang's libFuzzer (not part of the tests):
#   make fuzz FUZZ=message FUZZ_SECONDS=300
# New inputs land in tests/fuzz/corpus/$(FUZZ); commit the ones worth keeping.
# Crashing inputs land in $(FUZZ_BUILD), not in the source tree.
FUZZ ?= message
FUZZ_SECONDS ?= 60
FUZZ_BUILD ?= build/libfuzzer
fuzz:
	$(MAKE) CC=clang BUILD=$(FUZZ_BUILD) SANITIZER=address,undefined \
		CFLAGS="-O1 -g -fsanitize=fuzzer-no-link" $(FUZZ_BUILD)/libgatehouse.a
	clang $(CPPFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS) \
		-o $(FUZZ_BUILD)/fuzz_$(FUZZ) tests/fuzz/fuzz_$(FUZZ).c \
		$(FUZZ_BUILD)/libgatehouse.a $(PKG_LIBS)
	$(FUZZ_BUILD)/fuzz_$(FUZZ) -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
		-artifact_prefix=$(FUZZ_BUILD)/ tests/fuzz/corpus/$(FUZZ)

# Every target in turn, FUZZ_SECONDS each:  make fuzz-all FUZZ_SECONDS=60
# Logs in $(FUZZ_BUILD)/fuzz-NAME.log; one line per target with its
# executions per second; the targets that failed are named at the end.
fuzz-all:
	@mkdir -p $(FUZZ_BUILD); failed=""; for t in $(FUZZ_TARGETS); do \
		echo "== fuzz $$t: $(FUZZ_SECONDS) s"; \
		$(MAKE) fuzz FUZZ=$$t FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_BUILD=$(FUZZ_BUILD) \
			>$(FUZZ_BUILD)/fuzz-$$t.log 2>&1 || failed="$$failed $$t"; \
		grep -E '^Done [0-9]+ runs' $(FUZZ_BUILD)/fuzz-$$t.log | awk -v t=$$t \
			'{ printf "%s: %d runs in %d s, %d exec/s\n", t, $$2, $$5, $$2 / ($$5 ? $$5 : 1) }'; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz-all: failed:$$failed (see $(FUZZ_BUILD)/fuzz-NAME.log)"; exit 1; fi

# valgrind over the unit tests and test mode (libmilter is not involved).
valgrind: $(UNIT_BIN) $(BUILD)/gatehouse
	@set -e; for t in $(UNIT_BIN); do \
		CK_FORK=no valgrind -q --error-exitcode=99 --leak-check=full $$t; done
	valgrind -q --error-exitcode=99 --leak-check=full $(BUILD)/gatehouse test \
		--ip 192.0.2.1 --from a@example.org --rcpt b@example.net \
		tests/fuzz/corpus/message/plain >/dev/null || [ $$? -ne 99 ]

docs-check: $(BUILD)/gatehouse
	tests/docs-check.sh $(BUILD)/gatehouse

docs: $(BUILD)/gatehouse
	tests/docs-check.sh $(BUILD)/gatehouse --write

# Root-only: a private Postfix, smtp-sink and miltertest in a network namespace.
integration: $(BUILD)/gatehouse
	unshare --net -- tests/integration/run.sh $(abspath $(BUILD)/gatehouse)

# Root-only: the .deb built from a copy of the tree (dpkg-buildpackage,
# nocheck: make test runs make check itself), lintian, and the installed
# unit's own commands starting the installed binary against a private
# Postfix, in network and mount namespaces of its own (tests/packaging).
package-test:
	unshare --net --mount -- tests/packaging/run.sh

# Root-only: DNSSEC validation against a zone signed at test time (unbound in
# a network namespace).
dnssec-tests: $(BUILD)/gatehouse
	unshare --net -- tests/dnssec/run.sh $(abspath $(BUILD)/gatehouse)

# The same suite against the ASan+UBSan daemon: a memory error aborts the
# daemon and fails the tests (this is how the SIGHUP use-after-free showed).
# Benchmarks side by side with OpenDKIM and OpenDMARC (root, network namespace).
# Never part of make test: timings are reported, not asserted.
bench:
	packaging/install-deps.sh --bench
	$(MAKE) all $(BUILD)/bench/rules_bench
	RULES_BENCH=$(abspath $(BUILD)/bench/rules_bench) \
		unshare --net -- tests/bench/run.sh $(abspath $(BUILD)/gatehouse)

# What rules cost per 50 KB message through the engine: 0, 100 and 1,000
# rules, with and without the Hyperscan prefilter (no root, no network).
# Signing and the identity check per message, in process (no root): RSA,
# Ed25519, dual, libopendkim on the same message, RSS at 10,000/100,000.
# What counting metrics costs per message: metrics = yes next to metrics = no (root)
.PHONY: bench-metrics
bench-metrics: $(BUILD)/gatehouse
	unshare --net -- tests/bench/metrics.sh $(abspath $(BUILD)/gatehouse)

bench-sign: $(BUILD)/bench/sign_bench
	tests/bench/sign_bench.sh $(BUILD)/bench/sign_bench

$(BUILD)/bench/sign_bench: tests/bench/sign_bench.c $(BUILD)/libgatehouse.a
	mkdir -p $(BUILD)/bench
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -Wno-missing-prototypes $(LDFLAGS) -o $@ $< \
		$(BUILD)/libgatehouse.a $(PKG_LIBS)

bench-rules: $(BUILD)/bench/rules_bench
	$(BUILD)/bench/rules_bench -n 20 -k 50 $(BUILD)/bench/rules-data

# What the rate limiter costs per message, in process and through a private
# Redis, and what a million in-process counters weigh (no root, no network).
bench-ratelimit: $(BUILD)/bench/ratelimit_bench
	tests/bench/ratelimit.sh $(BUILD)/bench/ratelimit_bench

$(BUILD)/bench/ratelimit_bench: tests/bench/ratelimit_bench.c $(BUILD)/libgatehouse.a
	mkdir -p $(BUILD)/bench
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -Wno-missing-prototypes $(LDFLAGS) -o $@ $< \
		$(BUILD)/libgatehouse.a $(PKG_LIBS)

$(BUILD)/bench/rules_bench: tests/bench/rules_bench.c $(BUILD)/libgatehouse.a
	mkdir -p $(BUILD)/bench
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -Wno-missing-prototypes $(LDFLAGS) -o $@ $< \
		$(BUILD)/libgatehouse.a $(PKG_LIBS)

integration-asan:
	$(MAKE) SANITIZER=address,undefined all
	unshare --net -- tests/integration/run.sh $(abspath build/address-undefined/gatehouse)

sanitize:
	$(MAKE) SANITIZER=address,undefined check

deps:
	packaging/install-deps.sh

# The two commands README promises.
test: deps
	$(MAKE) all
	$(MAKE) check
	$(MAKE) sanitize
	$(MAKE) integration-asan
	$(MAKE) dnssec-tests
	$(MAKE) package-test
	$(MAKE) integration

# Sub-makes: pkg-config flags are read only after deps has installed the packages.
run: deps
	$(MAKE) all
	$(BUILD)/gatehouse -f $(RUN_ARGS)

# make install PREFIX=/usr DESTDIR=... gives the tree the shipped unit starts:
# $(SBINDIR)/gatehouse; $(SYSCONFDIR)/gatehouse/gatehouse.conf, the sample
# (every directive at its default: inet:8891@127.0.0.1), never overwritten;
# the unit, with its /usr/sbin and /etc paths rewritten for SBINDIR and
# SYSCONFDIR; the system user for systemd-sysusers; man pages; the rule
# sets, the sample and the MTA snippets as examples. The unit goes where
# Debian 12's systemd looks for packaged units (pkg-config systemd:
# /lib/systemd/system until the /usr merge is finished) when PREFIX is /usr,
# else under PREFIX (systemd also reads /usr/local/lib/systemd/system).
# Without a package, create the user once: systemd-sysusers.
install: $(BUILD)/gatehouse
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(SYSCONFDIR)/gatehouse $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
		$(DESTDIR)$(DOCDIR)/examples/rules
	install -m 0755 $(BUILD)/gatehouse $(DESTDIR)$(SBINDIR)/gatehouse
	install -m 0644 packaging/gatehouse.8 $(DESTDIR)$(MANDIR)/man8/gatehouse.8
	install -m 0644 packaging/gatehouse.conf.5 $(DESTDIR)$(MANDIR)/man5/gatehouse.conf.5
	install -m 0644 packaging/gatehouse.rules.5 $(DESTDIR)$(MANDIR)/man5/gatehouse.rules.5
	[ -e $(DESTDIR)$(SYSCONFDIR)/gatehouse/gatehouse.conf ] || \
		install -m 0644 packaging/gatehouse.conf $(DESTDIR)$(SYSCONFDIR)/gatehouse/gatehouse.conf
	sed -e 's|/usr/sbin/gatehouse|$(SBINDIR)/gatehouse|g' -e 's|/etc/gatehouse/|$(SYSCONFDIR)/gatehouse/|g' \
		packaging/gatehouse.service >$(DESTDIR)$(UNITDIR)/gatehouse.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/gatehouse.service
	install -m 0644 packaging/gatehouse.sysusers $(DESTDIR)$(SYSUSERSDIR)/gatehouse.conf
	install -m 0644 packaging/gatehouse.conf $(DESTDIR)$(DOCDIR)/examples/gatehouse.conf.sample
	install -m 0644 packaging/postfix-main.cf.snippet packaging/sendmail.mc.snippet \
		packaging/gatehouse-dmarc-report.service packaging/gatehouse-dmarc-report.timer \
		$(DESTDIR)$(DOCDIR)/examples/
	install -m 0644 rules/*.rules rules/*.list $(DESTDIR)$(DOCDIR)/examples/rules/

clean:
	rm -rf build

# make check: every test, against the plain build and the sanitizer build.
# Included by the top Makefile.

SAN_BUILD := $(BUILD)/san
TEST_CFLAGS = $(call cflags,-Wno-unused-parameter)
UNIT_LIBS = $(LDLIBS) -lcmocka

.PHONY: check check-build check-kernels fuzz

# libFuzzer targets, always clang and the sanitizers, in either build: the
# option parser (tests/fuzz_cli.c says how argp's exits are kept from ending
# the run), only cli.c and what it links against; the exporter's request path
# (tests/fuzz_http.c), http.c and libmicrohttpd on a loopback socket.
FUZZ_CFLAGS = -g -O1 -std=c11 -D_GNU_SOURCE -Wall -Wextra $(WERROR_FLAGS) -Isrc $(EXTRA_CFLAGS) \
	      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_CLI_SRCS := tests/fuzz_cli.c src/cli.c src/iface.c src/msg.c src/report.c src/tally.c \
		 src/key.c src/collector.c
# What fuzz_cli.c wraps: argp's exits, and getaddrinfo, never to query DNS.
FUZZ_CLI_WRAPS := -Wl,--wrap=argp_parse -Wl,--wrap=getaddrinfo
FUZZ_HTTP_SRCS := tests/fuzz_http.c src/http.c
FUZZ_TIME ?= 300

$(BUILD)/bpf_unit: tests/bpf_unit.c $(LIB_OBJS) $(BUILD)/xdptop.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(TEST_CFLAGS) $(ALL_LDFLAGS) tests/bpf_unit.c $(LIB_OBJS) $(UNIT_LIBS) -o $@

# src/ipfix.c's messages into a file, for another decoder (tests/test_ipfix.py).
$(BUILD)/ipfix_encode: tests/ipfix_encode.c $(BUILD)/ipfix.o
	$(call msg,CC,$@)
	$(Q)$(CC) $(TEST_CFLAGS) $(ALL_LDFLAGS) $^ -o $@

$(BUILD)/deny_bpf: tests/deny_bpf.c | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(TEST_CFLAGS) $(ALL_LDFLAGS) $< -o $@

# Built without the sanitizers: it is preloaded into either build.
$(BUILD)/fault.so: tests/fault.c | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -std=c11 -Wall -Wextra $(WERROR_FLAGS) -shared -fPIC $< -ldl -o $@

# Another XDP program, to share an interface with xdptop's in a dispatcher.
$(BUILD)/foreign.bpf.o: tests/foreign.bpf.c | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/fuzz_cli: $(FUZZ_CLI_SRCS) src/*.h tests/fuzz.h | $(BUILD)
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $(FUZZ_CLI_WRAPS) $(FUZZ_CLI_SRCS) -lm -o $@

$(BUILD)/fuzz_http: $(FUZZ_HTTP_SRCS) src/http.h tests/fuzz.h | $(BUILD)
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $(FUZZ_HTTP_SRCS) -lmicrohttpd -lpthread -o $@

check-build: all $(BUILD)/bpf_unit $(BUILD)/deny_bpf $(BUILD)/fault.so $(BUILD)/fuzz_cli \
	$(BUILD)/fuzz_http $(BUILD)/foreign.bpf.o $(BUILD)/ipfix_encode

# $(call fuzz_run,TARGET,FLAGS): FUZZ_TIME seconds of fuzz_TARGET from the seeds in
# tests/fuzz/TARGET (which stay as they are; what the run learns goes to
# $(BUILD)/fuzz/TARGET). A crash lands in tests/fuzz/crashes/TARGET/: fix it,
# rename the input for what it shows and keep it; make check replays each.
define fuzz_run
	$(Q)mkdir -p $(BUILD)/fuzz/$(1) tests/fuzz/crashes/$(1)
	$(Q)$(BUILD)/fuzz_$(1) -max_total_time=$(FUZZ_TIME) -timeout=10 $(2) -print_final_stats=1 \
		-dict=tests/fuzz/$(1).dict -artifact_prefix=tests/fuzz/crashes/$(1)/ \
		$(BUILD)/fuzz/$(1) tests/fuzz/$(1)
endef

# fuzz_cli's stderr is closed: argp prints a usage error for most inputs.
fuzz: $(BUILD)/fuzz_cli $(BUILD)/fuzz_http
	$(call fuzz_run,cli,-close_fd_mask=2)
	$(call fuzz_run,http,)

# Everything: the suite here, then under Debian's kernels (check-kernels'
# selection); tests/check ends with the line over both.
check:
	$(Q)$(MAKE) --no-print-directory check-build
	$(Q)$(MAKE) --no-print-directory BUILD=$(SAN_BUILD) SANITIZE=1 check-build
	$(Q)tests/prepare.sh
	$(Q)tests/check $(abspath $(BUILD)) $(KERNELS)

# make check-kernels [KERNELS="bookworm trixie"]: a focused selection of the
# suite under each Debian release's own kernel, emulated (tests/kernels/check
# says which tests and why). Needs root, QEMU and busybox-static
# (scripts/install-deps --test) and, once, Debian's kernel packages.
KERNELS ?= bookworm trixie
check-kernels: all $(BUILD)/fault.so $(BUILD)/foreign.bpf.o
	$(Q)$(MAKE) --no-print-directory BUILD=$(SAN_BUILD) SANITIZE=1 all
	$(Q)tests/kernels/check $(abspath $(BUILD)) $(KERNELS)

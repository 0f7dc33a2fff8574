# make check: every test, against the plain build and the sanitizer build.
# Included by the top Makefile.

PYTEST ?= /usr/bin/python3 -m pytest
SAN_BUILD := $(BUILD)/san
TEST_CFLAGS = $(CFLAGS) -Wno-unused-parameter
UNIT_LIBS = $(LDLIBS) -lcmocka

.PHONY: check check-build

$(BUILD)/bpf_unit: tests/bpf_unit.c $(LIB_OBJS) $(BUILD)/xdptop.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(TEST_CFLAGS) $(LDFLAGS) tests/bpf_unit.c $(LIB_OBJS) $(UNIT_LIBS) -o $@

$(BUILD)/deny_bpf: tests/deny_bpf.c | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(TEST_CFLAGS) $(LDFLAGS) $< -o $@

# Built without the sanitizers: it is preloaded into either build.
$(BUILD)/old_kernel_bpf.so: tests/old_kernel_bpf.c | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -std=c11 -Wall -Wextra -Werror -shared -fPIC $< -ldl -o $@

check-build: all $(BUILD)/bpf_unit $(BUILD)/deny_bpf $(BUILD)/old_kernel_bpf.so

check:
	$(Q)$(MAKE) --no-print-directory check-build
	$(Q)$(MAKE) --no-print-directory BUILD=$(SAN_BUILD) SANITIZE=1 check-build
	$(Q)tests/prepare.sh
	$(Q)XDPTOP_BUILD=$(abspath $(BUILD)) $(PYTEST) -p no:cacheprovider -q -rfEs tests

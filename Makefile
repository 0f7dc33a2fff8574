# xdptop - count packets and bytes per source address with XDP.
# make [V=1] [SANITIZE=1] [WERROR=0] [CC=...] [CFLAGS=...] [EXTRA_CFLAGS=...]
# make check | check-kernels | fuzz | bench | demo | install | uninstall | deb | readme | clean

PREFIX ?= /usr/local
DESTDIR ?=
# /etc/default/xdptop is read by the unit wherever the binary goes.
SYSCONFDIR ?= /etc
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/xdptop
# For /usr, Debian 12's own place (systemd.pc's systemdsystemunitdir, debhelper).
SYSTEMDUNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib,$(PREFIX)/lib)/systemd/system
BUILD ?= build
ARCH := $(shell uname -m)
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
VERSION := 0.1.0

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# The project's own flags stay apart from the user's, as in libbpf-tools: a
# CFLAGS, CPPFLAGS or LDFLAGS given on the command line (or by
# dpkg-buildflags) replaces only the defaults below, and EXTRA_CFLAGS comes
# last, so that both win over the project's flags. -Werror is on for
# development and CI; WERROR=0 turns it off (a distribution's build, a newer
# compiler with new warnings).
CFLAGS ?= -O2 -g
WERROR ?= 1
WERROR_FLAGS := $(if $(filter 1,$(WERROR)),-Werror)
XDPTOP_CPPFLAGS := -D_GNU_SOURCE -DXDPTOP_VERSION='"$(VERSION)"' -I$(BUILD) -Isrc
XDPTOP_CFLAGS := -std=c11 -Wall -Wextra $(WERROR_FLAGS)
XDPTOP_LDFLAGS :=
ifeq ($(SANITIZE),1)
XDPTOP_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
XDPTOP_LDFLAGS += -fsanitize=address,undefined
endif
# $(call cflags,PROJECT FLAGS): the whole compile line's flags, the user's last.
cflags = $(XDPTOP_CPPFLAGS) $(CPPFLAGS) $(XDPTOP_CFLAGS) $(1) $(CFLAGS) $(EXTRA_CFLAGS)
ALL_CFLAGS = $(call cflags,)
ALL_LDFLAGS = $(XDPTOP_LDFLAGS) $(LDFLAGS)
LDLIBS += -lxdp -lbpf -lelf -lz -ljson-c -lcap-ng -lncursesw -lmicrohttpd -lpthread -lm

BPF_CFLAGS := -target bpf -mcpu=v3 -O2 -g -Wall $(WERROR_FLAGS) -D__BPF__ \
	      -I/usr/include/$(ARCH)-linux-gnu -Isrc
# x86 makes stores visible in program order: the table publishes a claim
# with a plain store there (table.bpf.h).
ifeq ($(ARCH),x86_64)
BPF_CFLAGS += -DXDPTOP_STORES_IN_ORDER
endif

AGENT_SRCS := main.c cli.c iface.c msg.c privs.c kernel.c attach.c program.c attach_link.c \
	      attach_netlink.c adopt.c dispatcher.c detacher.c pin.c ledger.c status.c key.c \
	      table.c tally.c report.c output.c out_log.c out_json.c out_top.c out_prom.c exported.c \
	      http.c watch.c ipfix.c collector.c pacer.c out_ipfix.c
LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(filter-out main.c,$(AGENT_SRCS)))
BPF_HDRS := src/xdptop.h src/parse.bpf.h src/table.bpf.h
# The counting program, and the one kernel.c probes freplace with.
SKELETONS := $(BUILD)/xdptop.skel.h $(BUILD)/probe.skel.h

.DELETE_ON_ERROR:
.PHONY: all check bench demo install uninstall readme clean

# Generated files are kept: the skeletons say what the programs are.
.SECONDARY: $(SKELETONS) $(SKELETONS:.skel.h=.bpf.o)

all: $(BUILD)/xdptop $(BUILD)/xdptop.bpf.o

$(BUILD):
	$(Q)mkdir -p $@

$(BUILD)/%.bpf.o: src/%.bpf.c $(BPF_HDRS) | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# make PARSE_BPF_H=FILE: the counting program built with FILE in place of
# src/parse.bpf.h (tests/test_mutants.py's mutants, each in a BUILD of its
# own). FILE is forced in first, and its include guard keeps src/'s out.
ifneq ($(PARSE_BPF_H),)
$(BUILD)/xdptop.bpf.o: BPF_CFLAGS += -include $(abspath $(PARSE_BPF_H))
$(BUILD)/xdptop.bpf.o: $(PARSE_BPF_H)
endif

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(BUILD)/%.o: src/%.c src/*.h $(SKELETONS) | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/xdptop: $(BUILD)/main.o $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LDLIBS) -o $@

include tests/tests.mk
include bench/bench.mk

# make demo [SECONDS=N]: how long it runs (q ends the view before).
SECONDS ?= 60
demo: all
	$(Q)scripts/demo.sh $(BUILD)/xdptop $(SECONDS)

# README.md's Usage block is --help's output (tests/test_cli.py checks it):
# after changing an option's text, make readme.
readme: $(BUILD)/xdptop
	$(Q)scripts/readme-usage $(BUILD)/xdptop README.md

# The documentation goes to DOCDIR: the README, and as examples the
# Prometheus scrape config and alerting rules, and the Grafana dashboard.
DOC_EXAMPLES := contrib/prometheus/prometheus.yml contrib/prometheus/alerts.yml \
		contrib/grafana/xdptop.json

# The unit names the binary and the default file where they are installed.
# An existing default file is kept: it is the administrator's.
install: all
	install -D -m 0755 $(BUILD)/xdptop $(DESTDIR)$(SBINDIR)/xdptop
	install -D -m 0644 xdptop.8 $(DESTDIR)$(MANDIR)/man8/xdptop.8
	install -D -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -d $(DESTDIR)$(DOCDIR)/examples
	install -m 0644 $(DOC_EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed -e 's|/usr/sbin/xdptop|$(SBINDIR)/xdptop|g' \
	    -e 's|/etc/default/xdptop|$(SYSCONFDIR)/default/xdptop|g' \
	    contrib/systemd/xdptop.service > $(DESTDIR)$(SYSTEMDUNITDIR)/xdptop.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/xdptop.service
	[ -e $(DESTDIR)$(SYSCONFDIR)/default/xdptop ] || \
	    install -D -m 0644 contrib/systemd/xdptop.default $(DESTDIR)$(SYSCONFDIR)/default/xdptop

# Leaves $(SYSCONFDIR)/default/xdptop, as dpkg does until a purge.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/xdptop $(DESTDIR)$(MANDIR)/man8/xdptop.8 \
	      $(DESTDIR)$(SYSTEMDUNITDIR)/xdptop.service $(DESTDIR)$(DOCDIR)/README.md \
	      $(addprefix $(DESTDIR)$(DOCDIR)/examples/,$(notdir $(DOC_EXAMPLES)))
	-rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null

include contrib/debian/deb.mk

clean:
	rm -rf $(BUILD)

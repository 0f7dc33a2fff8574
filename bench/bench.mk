# make bench: builds the benchmark tools into $(BUILD)/bench/ and runs them all
# (bench/run.sh), printing the tables and writing them into BENCHMARKS.md.
# Included by the top Makefile, which declares bench .PHONY and defines
# ALL_CFLAGS, ALL_LDFLAGS, BPF_CFLAGS, LIB_OBJS and the skeleton reused here.

BENCH_BUILD := $(BUILD)/bench
BENCH_CFLAGS = $(ALL_CFLAGS) -I$(BENCH_BUILD) -Ibench
BENCH_TOOLS := $(BENCH_BUILD)/prog_cost $(BENCH_BUILD)/read_cost $(BENCH_BUILD)/sender \
	       $(BENCH_BUILD)/runstat $(BENCH_BUILD)/empty.bpf.o

.PHONY: bench-build
# The skeletons embed these objects; keep them (bpftool prog dump, rebuilds).
.SECONDARY: $(BENCH_BUILD)/progs.bpf.o $(BENCH_BUILD)/variants.bpf.o

$(BENCH_BUILD):
	$(Q)mkdir -p $@

$(BENCH_BUILD)/%.bpf.o: bench/%.bpf.c $(BPF_HDRS) | $(BENCH_BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BENCH_BUILD)/bench_%.skel.h: $(BENCH_BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name bench_$* > $@

$(BENCH_BUILD)/prog_cost: bench/prog_cost.c bench/frames.h bench/util.h $(BENCH_BUILD)/bench_progs.skel.h \
			  $(BENCH_BUILD)/bench_variants.skel.h $(LIB_OBJS) src/*.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(BENCH_CFLAGS) $(ALL_LDFLAGS) $< $(LIB_OBJS) $(LDLIBS) -lpthread -o $@

$(BENCH_BUILD)/read_cost: bench/read_cost.c bench/frames.h bench/util.h $(BENCH_BUILD)/bench_progs.skel.h \
			  $(LIB_OBJS) src/*.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(BENCH_CFLAGS) $(ALL_LDFLAGS) $< $(LIB_OBJS) $(LDLIBS) -o $@

$(BENCH_BUILD)/sender: bench/frames.h

$(BENCH_BUILD)/%: bench/%.c | $(BENCH_BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BENCH_CFLAGS) $(ALL_LDFLAGS) $< -o $@

bench-build: all $(BENCH_TOOLS)

bench:
	$(Q)$(MAKE) --no-print-directory bench-build
	$(Q)bench/run.sh $(BUILD)

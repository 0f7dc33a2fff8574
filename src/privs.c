// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Why each capability: CAP_BPF to load the program and create its maps;
 * CAP_NET_ADMIN to attach it to an interface; with --single-buffer,
 * CAP_PERFMON too, because that program subtracts packet pointers
 * (data_end - data, the frame's length without a helper call), which the
 * verifier allows only to programs that may see kernel pointers. None is
 * needed once attached: the table is read through mmap and the grace period
 * is an update of a map xdptop holds. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <cap-ng.h>
#include <linux/capability.h>
#include "cli.h"
#include "privs.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif


static bool have(unsigned int cap)
{
	return capng_have_capability(CAPNG_EFFECTIVE, cap);
}

int privs_check(bool perfmon)
{
	const char *missing[3];
	int n = 0;

	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_get_caps_process())
		return EXIT_OK; /* cannot tell: let the kernel decide */
	/* CAP_SYS_ADMIN also grants BPF and PERFMON, on kernels older than
	 * those capabilities too. */
	if (!have(CAP_BPF) && !have(CAP_SYS_ADMIN))
		missing[n++] = "CAP_BPF";
	if (!have(CAP_NET_ADMIN))
		missing[n++] = "CAP_NET_ADMIN";
	if (perfmon && !have(CAP_PERFMON) && !have(CAP_SYS_ADMIN))
		missing[n++] = "CAP_PERFMON";
	if (!n)
		return EXIT_OK;
	fprintf(stderr, "xdptop: missing %s%s%s%s%s: run it as root, or grant them with "
			"'setcap cap_bpf,cap_net_admin%s+ep xdptop'\n", missing[0],
		n == 3 ? ", " : n == 2 ? " and " : "", n > 1 ? missing[1] : "",
		n == 3 ? " and " : "", n == 3 ? missing[2] : "", perfmon ? ",cap_perfmon" : "");
	return EXIT_PRIVILEGE;
}

int privs_drop(void)
{
	bool bounding;
	int err = 0;

	capng_clear(CAPNG_SELECT_ALL);
	capng_get_caps_process();
	/* The bounding set only with CAP_SETPCAP: root has it; a user given
	 * file capabilities does not (and cannot regain any past exec with
	 * no_new_privs anyway). */
	bounding = have(CAP_SETPCAP);
	capng_clear(CAPNG_SELECT_ALL);
	if (capng_apply(bounding ? CAPNG_SELECT_ALL : CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT))
		err = errno ? errno : EPERM;
	else if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		err = errno;
	if (err) {
		fprintf(stderr, "xdptop: cannot drop its capabilities once attached (%s): it "
				"will not count with more privilege than it needs\n", strerror(err));
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

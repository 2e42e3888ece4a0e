/*
 * leak-hunt __heap-wrap DIR COMMAND...: the prefix the heap tool puts
 * before each process under test (internal, not in --help).
 *
 * gperftools names profiles after HEAPPROFILE alone, so processes started
 * with the same environment would overwrite each other's dumps.  This
 * wrapper gives each process its own prefix (DIR/heap.<pid>), preloads
 * tcmalloc, turns off the allocation-interval dumps and makes SIGUSR2
 * dump a profile, then execs the command (same pid).
 */
#include "commands.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef LH_TCMALLOC_SO
#define LH_TCMALLOC_SO "libtcmalloc.so.4"
#endif

int lh_cmd_heapwrap(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: leak-hunt __heap-wrap DIR COMMAND...\n");
        return 2;
    }
    char prefix[1200], preload[2400];
    snprintf(prefix, sizeof prefix, "%s/heap.%d", argv[1], (int)getpid());
    const char *old = getenv("LD_PRELOAD");
    snprintf(preload, sizeof preload, "%s%s%s", LH_TCMALLOC_SO,
             old && *old ? ":" : "", old && *old ? old : "");
    char sig[16];
    snprintf(sig, sizeof sig, "%d", SIGUSR2);
    if (setenv("LD_PRELOAD", preload, 1) || setenv("HEAPPROFILE", prefix, 1) ||
        setenv("HEAPPROFILESIGNAL", sig, 1) ||
        setenv("HEAP_PROFILE_ALLOCATION_INTERVAL", "0", 1) ||
        setenv("HEAP_PROFILE_INUSE_INTERVAL", "0", 1)) {
        perror("leak-hunt: setenv");
        return 2;
    }
    execvp(argv[2], argv + 2);
    fprintf(stderr, "leak-hunt: cannot execute %s: %s\n", argv[2],
            strerror(errno));
    return 127;
}

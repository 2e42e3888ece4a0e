/*
 * leak-hunt __heap-wrap DIR COMMAND...: the prefix the heap tool puts
 * before each process under test (internal, not in --help).
 *
 * It looks at the program first (preload.h) and preloads only into a
 * program that can take it (docs/protocol.md section 6):
 *   - a dynamic program on the C library's malloc: our shim and tcmalloc
 *     (LD_PRELOAD=shim:tcmalloc[:what was there], the shim first so that
 *     tcmalloc's constructors run before the shim's).  The shim starts
 *     gperftools' heap profiler for the process and writes its live heap
 *     (harness/shim/heapshim.c), so HEAPPROFILE and HEAPPROFILESIGNAL are
 *     removed from the environment (gperftools would start a profiler of
 *     its own, under names of its own); the allocation-interval dumps are
 *     turned off;
 *   - a program built with a sanitizer: no tcmalloc (its runtime must
 *     come first and replaces malloc), only the shim after the runtime
 *     (the order the sanitizer asks for), for the live heap its allocator
 *     counts; no profile;
 *   - a program with an allocator of its own, or statically linked:
 *     nothing preloaded.
 * Each process left without the profiler gets a line in DIR/heap-wrap.log
 * (the heap tool reports it) and one on its stderr.  Then the command is
 * exec'd (same pid).  The check is here, per process, because a target may
 * start its processes under test itself through LEAKHUNT_WRAP.
 */
#include "commands.h"

#include "heaplog.h"
#include "preload.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef LH_TCMALLOC_SO
#define LH_TCMALLOC_SO "libtcmalloc.so.4"
#endif

/* The shim beside this binary, into buf; 0, or -1 when it is not there. */
static int find_shim(char *buf, size_t cap)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash == NULL)
        return -1;
    *slash = '\0';
    if ((size_t)snprintf(buf, cap, "%s/%s", self, LH_HEAPLOG_SHIM) >= cap)
        return -1;
    return access(buf, R_OK) == 0 ? 0 : -1;
}

/* Notes a process left without the profiler, in DIR/heap-wrap.log (one
 * write, O_APPEND: the lines of several processes do not mix) and on
 * stderr. */
static void note_skipped(const char *dir, const lh_preload_check *chk,
                         const char *instead)
{
    char path[PATH_MAX], line[2048];
    int n = snprintf(line, sizeof line, "pid=%d %s: %s; %s\n", (int)getpid(),
                     chk->program, chk->why, instead);
    if (n <= 0)
        return;
    if ((size_t)n >= sizeof line)
        n = (int)sizeof line - 1, line[n - 1] = '\n';
    fprintf(stderr, "leak-hunt __heap-wrap: %s", line);
    snprintf(path, sizeof path, "%s/%s", dir, LH_HEAPLOG_WRAP);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    ssize_t w = write(fd, line, (size_t)n);
    (void)w; /* the note is lost, the run goes on */
    close(fd);
}

/* LD_PRELOAD = first[:second][:what it was]. */
static int set_preload(const char *first, const char *second)
{
    const char *old = getenv("LD_PRELOAD");
    char list[3 * PATH_MAX];
    snprintf(list, sizeof list, "%s%s%s%s%s", first, second ? ":" : "",
             second ? second : "", old && *old ? ":" : "",
             old && *old ? old : "");
    return setenv("LD_PRELOAD", list, 1);
}

/* The environment of a process that gets the shim (and with `profile`,
 * tcmalloc and its profiler).  0, or -1 (errno set). */
static int set_env(const char *dir, const char *shim,
                   const lh_preload_check *chk)
{
    int rc;
    if (chk->kind == LH_PRELOAD_SANITIZER)
        rc = chk->runtime[0] ? set_preload(chk->runtime, shim)
                             : set_preload(shim, NULL);
    else
        rc = set_preload(shim, LH_TCMALLOC_SO);
    if (rc || setenv(LH_HEAPLOG_ENV_DIR, dir, 1) ||
        unsetenv("HEAPPROFILE") || unsetenv("HEAPPROFILESIGNAL") ||
        setenv("HEAP_PROFILE_ALLOCATION_INTERVAL", "0", 1) ||
        setenv("HEAP_PROFILE_INUSE_INTERVAL", "0", 1))
        return -1;
    return 0;
}

int lh_cmd_heapwrap(int argc, char **argv)
{
    char dir[PATH_MAX];
    if (argc < 3) {
        fprintf(stderr, "usage: leak-hunt __heap-wrap DIR COMMAND...\n");
        return 2;
    }
    /* absolute: the processes under test may change directory */
    if (realpath(argv[1], dir) == NULL) {
        fprintf(stderr, "leak-hunt __heap-wrap: %s: %s\n", argv[1],
                strerror(errno));
        return 2;
    }
    const char *ours = strrchr(LH_TCMALLOC_SO, '/');
    ours = ours ? ours + 1 : LH_TCMALLOC_SO;
    lh_preload_check chk;
    char shim[PATH_MAX];
    if (lh_preload_check_program(argv[2], getenv("LD_PRELOAD"), ours,
                                 &chk) < 0) {
        fprintf(stderr, "leak-hunt __heap-wrap: out of memory\n");
        return 2;
    }
    int preload = chk.kind == LH_PRELOAD_OK || chk.kind == LH_PRELOAD_UNKNOWN ||
                  chk.kind == LH_PRELOAD_SANITIZER;
    if (preload && find_shim(shim, sizeof shim) < 0) {
        fprintf(stderr, "leak-hunt __heap-wrap: %s not found beside "
                        "leak-hunt\n", LH_HEAPLOG_SHIM);
        return 2;
    }
    if (chk.kind == LH_PRELOAD_SANITIZER)
        note_skipped(dir, &chk, "no heap profile; its live heap from the "
                                "sanitizer's allocator");
    else if (!preload)
        note_skipped(dir, &chk, "no heap profile, and its live heap from "
                                "its own heap= or RSS");
    if (preload && set_env(dir, shim, &chk) < 0) {
        perror("leak-hunt __heap-wrap: setenv");
        return 2;
    }
    execvp(argv[2], argv + 2);
    fprintf(stderr, "leak-hunt: cannot execute %s: %s\n", argv[2],
            strerror(errno));
    return 127;
}

/*
 * switchcmd.c - the switch command (switchcmd.h).
 *
 * Design: the command is started as a target is (target.c: its own
 * group, its log, killed with leak-hunt, its whole group stopped on a
 * timeout), through `sh -c` because it is the user's own command line: a
 * pipe, a redirection, `&&` are the point (writing a control file
 * atomically is `printf ... > f.tmp && mv f.tmp f`).  Stage names are
 * made of [A-Za-z0-9_.-] (docs/protocol.md section 1), so quoting the
 * list is a formality; it is done in full anyway (a ' as '\'').
 */
#include "switchcmd.h"

#include "alloc.h"
#include "clock.h"
#include "error.h"
#include "target.h"

#include <stdio.h>
#include <string.h>

#define POLL_US 20000
#define STOP_GRACE_MS 1000

/* list as one shell word in single quotes. */
static char *quote(const char *list)
{
    size_t n = 3;
    for (const char *p = list; *p; p++)
        n += *p == '\'' ? 4 : 1;
    char *out = lh_malloc(n);
    if (out == NULL)
        return NULL;
    char *w = out;
    *w++ = '\'';
    for (const char *p = list; *p; p++) {
        if (*p == '\'') {
            memcpy(w, "'\\''", 4);
            w += 4;
        } else {
            *w++ = *p;
        }
    }
    *w++ = '\'';
    *w = '\0';
    return out;
}

char *lh_switchcmd_line(const char *cmd, const char *list)
{
    char *q = quote(list);
    if (q == NULL)
        return NULL;
    char *line = lh_target_substitute(cmd, q);
    lh_free(q);
    return line;
}

int lh_switchcmd_run(const char *cmd, const char *list, const char *log_path,
                     double timeout_s, char *why, size_t cap)
{
    char *line = lh_switchcmd_line(cmd, list);
    if (line == NULL)
        return LH_ENOMEM;
    char *argv[] = {"/bin/sh", "-c", line, NULL};
    lh_target_opts to = {
        .argv = argv,
        .stages = list,
        .log_path = log_path,
    };
    lh_target *t = NULL;
    int status = 0, rc = lh_target_start(&to, &t);
    if (rc < 0) {
        snprintf(why, cap, "cannot start the switch command `%.300s`: %s",
                 line, lh_strerror(rc));
        lh_free(line);
        return rc == LH_ENOMEM ? rc : LH_EIO;
    }
    if (timeout_s <= 0)
        timeout_s = LH_SWITCHCMD_TIMEOUT_S;
    int64_t end = lh_now_us() + (int64_t)(timeout_s * 1e6);
    int done = lh_target_exited(t, &status);
    while (!done && lh_now_us() < end) {
        lh_sleep_us(POLL_US);
        done = lh_target_exited(t, &status);
    }
    char tail[600] = "", how[128];
    if (!done) {
        lh_target_stop(t, STOP_GRACE_MS, &status);
        snprintf(how, sizeof how, "did not finish in %g s (stopped)",
                 timeout_s);
    } else {
        lh_target_describe_status(status, how, sizeof how);
    }
    rc = 0;
    if (!done || status != 0) {
        if (log_path)
            lh_target_log_tail(log_path, 4, tail, sizeof tail);
        size_t n = strlen(tail);
        while (n > 0 && tail[n - 1] == '\n')
            tail[--n] = '\0';
        snprintf(why, cap, "the switch command `%.300s` failed: %s%s%.600s",
                 line, how, tail[0] ? "; its last lines:\n" : "", tail);
        rc = LH_EIO;
    }
    lh_target_free(t);
    lh_free(line);
    return rc;
}

#include "cli.h"

#include "alloc.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((format(printf, 2, 3))) static int bad(const lh_cli *c,
                                                     const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "leak-hunt %s: ", c->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'leak-hunt %s --help')\n", c->cmd);
    return 2;
}

static int builtin_requires(lh_cli *c);

static int number(const lh_cli *c, const char *flag, const char *v, double lo,
                  double hi, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(d))
        return bad(c, "%s: not a number: '%s'", flag, v);
    if (d < lo || d > hi)
        return bad(c, "%s: out of range: '%s'", flag, v);
    *out = d;
    return 0;
}

static void find_bindir(lh_cli *c)
{
    char exe[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(c->bindir, sizeof c->bindir, ".");
    } else {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        snprintf(c->bindir, sizeof c->bindir, "%s", exe);
    }
    snprintf(c->selfheal, sizeof c->selfheal, "%s/selfheal", c->bindir);
#ifdef LH_SOURCE_DIR
    snprintf(c->supp, sizeof c->supp, "%s/ci/valgrind.supp", LH_SOURCE_DIR);
    if (access(c->supp, R_OK) != 0)
        c->supp[0] = '\0';
#endif
}

int lh_cli_parse(int argc, char **argv, const char *help, lh_cli *c)
{
    const char *cmd = c->cmd;
    memset(c, 0, sizeof *c);
    c->cmd = cmd;
    c->strategy = "auto";
    c->threshold = -1; /* the decision's default */
    c->max_extend = 2;
    c->nodes = 3;
    c->timeout = 300;
    find_bindir(c);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            if (i + 1 >= argc)
                return bad(c, "no target command after '--'");
            c->target = argv + i + 1;
            break;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(help, stdout);
            return 1;
        }
        if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            c->quiet = 1;
            continue;
        }
        if (strcmp(a, "--target-wraps") == 0) {
            c->target_wraps = 1;
            continue;
        }
        if (strcmp(a, "--git-bisect") == 0 && strcmp(cmd, "soak") == 0) {
            c->git_bisect = 1;
            continue;
        }
        /* Everything else takes a value, as --flag VALUE or --flag=VALUE. */
        const char *v = NULL;
        char flag[64];
        const char *eq = strchr(a, '=');
        if (strncmp(a, "--", 2) != 0)
            return bad(c, "unexpected argument '%s'", a);
        if (eq) {
            size_t len = (size_t)(eq - a);
            if (len >= sizeof flag)
                return bad(c, "unknown option '%s'", a);
            memcpy(flag, a, len);
            flag[len] = '\0';
            v = eq + 1;
        } else {
            snprintf(flag, sizeof flag, "%s", a);
            if (i + 1 < argc)
                v = argv[++i];
        }
        int known = 1, rc = 0;
        double d;
#define IS(name) (strcmp(flag, name) == 0)
        if (!(IS("--tool") || IS("--strategy") || IS("--work") ||
              IS("--duration") || IS("--threshold") || IS("--report") ||
              IS("--json") || IS("--stages") || IS("--requires") ||
              IS("--enable") || IS("--inject") || IS("--scenario") ||
              IS("--nodes") || IS("--stage-map") || IS("--timeout") ||
              IS("--budget") || IS("--extend")))
            known = 0;
        if (!known)
            return bad(c, "unknown option '%s'", flag);
        /* Options that only one command reads are refused by the others,
         * rather than taken and ignored. */
        const char *only = IS("--strategy") || IS("--requires") ? "hunt"
                           : IS("--budget")                    ? "soak"
                                                               : NULL;
        if (only && strcmp(cmd, only) != 0)
            return bad(c, "%s applies to 'leak-hunt %s' only", flag, only);
        if (IS("--enable") && strcmp(cmd, "hunt") == 0)
            return bad(c, "--enable does not apply to hunt: it chooses the "
                          "configurations from --stages itself");
        if (v == NULL)
            return bad(c, "%s needs a value", flag);
        if (IS("--tool")) {
            c->tool_name = v;
            c->tool = strcmp(v, "auto") == 0 ? NULL : lh_tool_find(v);
            if (c->tool == NULL && strcmp(v, "auto") != 0)
                return bad(c, "unknown tool '%s' (rss, heap, memcheck or "
                              "auto)", v);
        } else if (IS("--strategy")) {
            if (strcmp(v, "auto") && strcmp(v, "linear") &&
                strcmp(v, "bisect") && strcmp(v, "isolate") &&
                strcmp(v, "ddmin"))
                return bad(c, "unknown strategy '%s' (auto, linear, bisect, "
                              "isolate or ddmin)", v);
            c->strategy = v;
        } else if (IS("--work")) {
            rc = number(c, flag, v, 1, 1e12, &c->work);
        } else if (IS("--duration")) {
            rc = number(c, flag, v, 0.1, 7 * 86400, &c->duration);
        } else if (IS("--timeout")) {
            rc = number(c, flag, v, 1, 7 * 86400, &c->timeout);
        } else if (IS("--threshold")) {
            rc = number(c, flag, v, 0, 1e9, &c->threshold);
        } else if (IS("--budget")) {
            rc = number(c, flag, v, 0, 1e9, &c->budget);
        } else if (IS("--extend")) {
            rc = number(c, flag, v, 0, 6, &d);
            c->max_extend = (int)d;
        } else if (IS("--nodes")) {
            rc = number(c, flag, v, 1, 64, &d);
            c->nodes = (int)d;
        } else if (IS("--report")) {
            c->report_dir = v;
        } else if (IS("--json")) {
            c->json_path = v;
        } else if (IS("--stages")) {
            c->stages = v;
        } else if (IS("--requires")) {
            c->requires = v;
        } else if (IS("--enable")) {
            c->enable = v;
        } else if (IS("--inject")) {
            if (c->ninject == LH_CLI_MAX_INJECT)
                return bad(c, "too many --inject options (at most %s)",
                           "16");
            c->inject[c->ninject++] = v;
        } else if (IS("--scenario")) {
            c->scenario = v;
        } else if (IS("--stage-map")) {
            c->stage_map = v;
        }
#undef IS
        if (rc)
            return rc;
    }
    c->builtin = c->target == NULL;
    if (c->builtin) {
        if (c->stages == NULL)
            c->stages = LH_SELFHEAL_STAGES;
        if (c->requires == NULL) {
            int brc = builtin_requires(c);
            if (brc)
                return brc;
        }
        c->target_wraps = 1;
        if (access(c->selfheal, X_OK) != 0) {
            fprintf(stderr, "leak-hunt %s: cannot find the built-in target "
                            "%s: build it (ci/build) or give '-- TARGET'\n",
                    cmd, c->selfheal);
            c->target_missing = 1;
            return 2;
        }
    } else {
        if (c->ninject || c->scenario)
            return bad(c, "%s only applies to the built-in pipeline",
                       c->ninject ? "--inject" : "--scenario");
    }
    if (c->enable && c->stages && lh_cli_check_stages(c->enable, c->stages))
        return 2;
    return 0;
}

/* 1 when `name` (len bytes) is in the comma list. */
static int in_list(const char *list, const char *name, size_t len)
{
    const char *p = list;
    while (*p) {
        size_t l = strcspn(p, ",");
        if (l == len && strncmp(p, name, len) == 0)
            return 1;
        p += l;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* The built-in pipeline's requirements for --stages LIST (a subset of its
 * stages): those of the stages in the list; a stage whose requirement is
 * left out is an error (with forward off, nothing reaches the B nodes). */
static int builtin_requires(lh_cli *c)
{
    if (strcmp(c->stages, LH_SELFHEAL_STAGES) == 0) {
        c->requires = LH_SELFHEAL_REQUIRES;
        return 0;
    }
    if (lh_cli_check_stages(c->stages, LH_SELFHEAL_STAGES))
        return 2;
    size_t len = 0;
    c->builtin_requires[0] = '\0';
    const char *p = LH_SELFHEAL_REQUIRES;
    while (*p) {
        size_t l = strcspn(p, ",");
        const char *colon = memchr(p, ':', l);
        size_t sl = (size_t)(colon - p), dl = l - sl - 1;
        if (in_list(c->stages, p, sl)) {
            if (!in_list(c->stages, colon + 1, dl))
                return bad(c, "stage %.*s of the built-in pipeline needs "
                              "%.*s: add it to --stages", (int)sl, p,
                           (int)dl, colon + 1);
            len += (size_t)snprintf(c->builtin_requires + len,
                                    sizeof c->builtin_requires - len,
                                    "%s%.*s", len ? "," : "", (int)l, p);
        }
        p += l;
        if (*p == ',')
            p++;
    }
    c->requires = c->builtin_requires;
    return 0;
}

int lh_cli_check_stages(const char *list, const char *stages)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *s = strtok_r(buf, ",", &save); s;
         s = strtok_r(NULL, ",", &save)) {
        if (!in_list(stages, s, strlen(s))) {
            fprintf(stderr, "leak-hunt: unknown stage '%s' (stages: %s)\n", s,
                    stages);
            return 2;
        }
    }
    return 0;
}

static int push(char ***v, size_t *n, const char *s)
{
    char **nv = lh_realloc(*v, (*n + 2) * sizeof **v);
    if (nv == NULL)
        return -1;
    *v = nv;
    nv[*n] = lh_strdup(s);
    if (nv[*n] == NULL)
        return -1;
    (*n)++;
    nv[*n] = NULL;
    return 0;
}

char **lh_cli_target_argv(const lh_cli *c)
{
    char **v = NULL;
    size_t n = 0;
    int rc = 0;
    char nodes[16];
    if (!c->builtin) {
        for (size_t i = 0; rc == 0 && c->target[i]; i++)
            rc = push(&v, &n, c->target[i]);
    } else {
        snprintf(nodes, sizeof nodes, "%d", c->nodes);
        rc |= push(&v, &n, c->selfheal);
        rc |= push(&v, &n, "up");
        rc |= push(&v, &n, "--stages");
        rc |= push(&v, &n, "{stages}");
        rc |= push(&v, &n, "--nodes");
        rc |= push(&v, &n, nodes);
        /* leak-hunt decides when to stop; a day is only a safety net */
        rc |= push(&v, &n, "--duration");
        rc |= push(&v, &n, "86400");
        /* A paced load and a short delay keep the queues small and steady,
         * so that memory held for queued events does not drown the signal
         * (the default, as fast as possible with a 1 s delay and a 64k
         * window, holds up to 400k events in flight).  The window (per B
         * connection) stays well above what is in flight (~1k events at
         * this rate and delay): A pauses its partitions when the windows
         * fill, and each pause costs about a second before the consumer
         * fetches again (a 4096 window capped the pipeline with enqueue at
         * ~12k events/s).  At 100k/s on this 2-core machine under load the
         * B nodes fell behind now and then, and the queue's swings (~330 B
         * an item) made a clean 400k-event run look like +1-4 B/event;
         * 50k/s keeps them small. */
        rc |= push(&v, &n, "--rate");
        rc |= push(&v, &n, "50000");
        rc |= push(&v, &n, "--delay-ms");
        rc |= push(&v, &n, "10");
        rc |= push(&v, &n, "--window");
        rc |= push(&v, &n, "16384");
        for (int i = 0; rc == 0 && i < c->ninject; i++) {
            rc |= push(&v, &n, "--inject");
            rc |= push(&v, &n, c->inject[i]);
        }
        if (rc == 0 && c->scenario) {
            rc |= push(&v, &n, "--scenario");
            rc |= push(&v, &n, c->scenario);
        }
    }
    if (rc != 0) {
        lh_cli_free_argv(v);
        return NULL;
    }
    return v;
}

void lh_cli_free_argv(char **argv)
{
    if (argv == NULL)
        return;
    for (size_t i = 0; argv[i]; i++)
        lh_free(argv[i]);
    lh_free(argv);
}

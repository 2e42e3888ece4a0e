#include "cli.h"

#include "alloc.h"
#include "strategy.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
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

/* How an option's value is read. */
typedef enum opt_kind {
    OPT_TEXT,     /* the string as it is */
    OPT_NUMBER,   /* a number in [lo, hi] */
    OPT_INT,      /* the same, kept as an int */
    OPT_TOOL,     /* a tool name, or auto */
    OPT_STRATEGY, /* a strategy name (strategies.c's table) */
    OPT_INJECT,   /* appended to the --inject list */
} opt_kind;

/* The options that take a value; `only` names the one command that reads
 * it (the others refuse it rather than take and ignore it). */
static const struct option {
    const char *name;
    opt_kind kind;
    size_t at; /* offsetof the field in lh_cli */
    double lo, hi;
    const char *only;
} options[] = {
    {"--tool", OPT_TOOL, 0, 0, 0, NULL},
    {"--strategy", OPT_STRATEGY, offsetof(lh_cli, strategy), 0, 0, "hunt"},
    {"--work", OPT_NUMBER, offsetof(lh_cli, work), 1, 1e12, NULL},
    {"--duration", OPT_NUMBER, offsetof(lh_cli, duration), 0.1, 7 * 86400,
     NULL},
    {"--threshold", OPT_NUMBER, offsetof(lh_cli, threshold), 0, 1e9, NULL},
    {"--report", OPT_TEXT, offsetof(lh_cli, report_dir), 0, 0, NULL},
    {"--json", OPT_TEXT, offsetof(lh_cli, json_path), 0, 0, NULL},
    {"--stages", OPT_TEXT, offsetof(lh_cli, stages), 0, 0, NULL},
    {"--requires", OPT_TEXT, offsetof(lh_cli, requires), 0, 0, "hunt"},
    {"--enable", OPT_TEXT, offsetof(lh_cli, enable), 0, 0, NULL},
    {"--inject", OPT_INJECT, 0, 0, 0, NULL},
    {"--scenario", OPT_TEXT, offsetof(lh_cli, scenario), 0, 0, NULL},
    {"--nodes", OPT_INT, offsetof(lh_cli, nodes), 1, 64, NULL},
    {"--stage-map", OPT_TEXT, offsetof(lh_cli, stage_map), 0, 0, NULL},
    {"--timeout", OPT_NUMBER, offsetof(lh_cli, timeout), 1, 7 * 86400, NULL},
    {"--budget", OPT_NUMBER, offsetof(lh_cli, budget), 0, 1e9, "soak"},
    {"--extend", OPT_INT, offsetof(lh_cli, max_extend), 0, 6, NULL},
    {"--metrics", OPT_TEXT, offsetof(lh_cli, metrics), 0, 0, NULL},
    {"--work-metric", OPT_TEXT, offsetof(lh_cli, work_metric), 0, 0, NULL},
    {"--memory-metric", OPT_TEXT, offsetof(lh_cli, memory_metric), 0, 0,
     NULL},
    {"--switch-cmd", OPT_TEXT, offsetof(lh_cli, switch_cmd), 0, 0, "hunt"},
};

static void defaults(lh_cli *c)
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
}

/* A flag without a value: 1 when `a` is one (and taken), 0 when not. */
static int switch_flag(lh_cli *c, const char *a)
{
    if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0)
        c->quiet = 1;
    else if (strcmp(a, "--target-wraps") == 0)
        c->target_wraps = 1;
    else if (strcmp(a, "--git-bisect") == 0 && strcmp(c->cmd, "soak") == 0)
        c->git_bisect = 1;
    else if (strcmp(a, "--restart") == 0 && strcmp(c->cmd, "soak") != 0)
        c->restart = 1;
    else
        return 0;
    return 1;
}

static int set_tool(lh_cli *c, const char *v)
{
    c->tool_name = v;
    c->tool = strcmp(v, "auto") == 0 ? NULL : lh_tool_find(v);
    if (c->tool == NULL && strcmp(v, "auto") != 0)
        return bad(c, "unknown tool '%s' (rss, heap, memcheck or auto)", v);
    return 0;
}

static int set_strategy(lh_cli *c, const char *v)
{
    if (lh_hunt_strategy_find(v) == NULL) {
        char names[128];
        lh_hunt_strategy_names(names, sizeof names);
        return bad(c, "unknown strategy '%s' (%s)", v, names);
    }
    c->strategy = v;
    return 0;
}

/* Takes option o's value v. */
static int set_option(lh_cli *c, const struct option *o, const char *v)
{
    char *field = (char *)c + o->at;
    double d;
    int rc;
    switch (o->kind) {
    case OPT_TEXT:
        memcpy(field, &v, sizeof v);
        return 0;
    case OPT_NUMBER:
        rc = number(c, o->name, v, o->lo, o->hi, &d);
        if (rc == 0)
            memcpy(field, &d, sizeof d);
        return rc;
    case OPT_INT: {
        rc = number(c, o->name, v, o->lo, o->hi, &d);
        int n = (int)d;
        if (rc == 0)
            memcpy(field, &n, sizeof n);
        return rc;
    }
    case OPT_TOOL:
        return set_tool(c, v);
    case OPT_STRATEGY:
        return set_strategy(c, v);
    case OPT_INJECT:
        if (c->ninject == LH_CLI_MAX_INJECT)
            return bad(c, "too many --inject options (at most %s)", "16");
        c->inject[c->ninject++] = v;
        return 0;
    }
    return 0;
}

static const struct option *find_option(const char *flag)
{
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
        if (strcmp(options[i].name, flag) == 0)
            return &options[i];
    return NULL;
}

/* One option with a value at argv[*i], as --flag VALUE or --flag=VALUE
 * (*i moves past the value). */
static int value_option(lh_cli *c, int argc, char **argv, int *i)
{
    const char *a = argv[*i], *v = NULL, *eq = strchr(a, '=');
    char flag[64];
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
        if (*i + 1 < argc)
            v = argv[++*i];
    }
    const struct option *o = find_option(flag);
    if (o == NULL)
        return bad(c, "unknown option '%s'", flag);
    if (o->only && strcmp(c->cmd, o->only) != 0)
        return bad(c, "%s applies to 'leak-hunt %s' only", flag, o->only);
    if (strcmp(flag, "--enable") == 0 && strcmp(c->cmd, "hunt") == 0)
        return bad(c, "--enable does not apply to hunt: it chooses the "
                      "configurations from --stages itself");
    if (v == NULL)
        return bad(c, "%s needs a value", flag);
    return set_option(c, o, v);
}

/* The arguments up to "--" and the target after it.  0, 1 (--help) or
 * 2. */
static int parse_args(lh_cli *c, int argc, char **argv, const char *help)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            if (i + 1 >= argc)
                return bad(c, "no target command after '--'");
            c->target = argv + i + 1;
            return 0;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(help, stdout);
            return 1;
        }
        if (switch_flag(c, a))
            continue;
        int rc = value_option(c, argc, argv, &i);
        if (rc)
            return rc;
    }
    return 0;
}

/* The built-in pipeline: its stages and requirements, and its program. */
static int finish_builtin(lh_cli *c)
{
    if (c->stages == NULL)
        c->stages = LH_SELFHEAL_STAGES;
    if (c->requires == NULL) {
        int rc = builtin_requires(c);
        if (rc)
            return rc;
    }
    c->target_wraps = 1;
    if (access(c->selfheal, X_OK) != 0) {
        fprintf(stderr, "leak-hunt %s: cannot find the built-in target "
                        "%s: build it (ci/build) or give '-- TARGET'\n",
                c->cmd, c->selfheal);
        c->target_missing = 1;
        return 2;
    }
    return 0;
}

/* --enable's default: every stage (--stages) for soak and for the
 * built-in pipeline's run; no stage for another target's run, whose
 * stages leak-hunt cannot know (issue 15: a user's own program). */
static void default_enable(lh_cli *c)
{
    if (c->enable || strcmp(c->cmd, "hunt") == 0)
        return;
    if (strcmp(c->cmd, "run") == 0 && !c->builtin)
        c->enable = "";
    else
        c->enable = c->stages ? c->stages : "";
}

/* --metrics and what goes with it (docs/protocol.md section 9): the
 * metric flags need it; with no target it is watch mode, which starts
 * nothing, so needs a memory metric (there is no process of ours to read
 * the RSS of) and, for a hunt, the command that switches the service's
 * stages.  The measurement is the metrics': rss only (the heap profiler
 * and valgrind measure processes of ours).  0 or 2. */
static int check_metrics(lh_cli *c)
{
    if (c->metrics == NULL) {
        if (c->work_metric || c->memory_metric || c->switch_cmd)
            return bad(c, "%s needs --metrics URL",
                       c->work_metric     ? "--work-metric"
                       : c->memory_metric ? "--memory-metric"
                                          : "--switch-cmd");
        return 0;
    }
    if (c->tool && strcmp(c->tool->name, "rss") != 0)
        return bad(c, "--tool %s cannot measure through --metrics (the "
                      "service's own figures): leave --tool out, or rss",
                   c->tool->name);
    c->tool = lh_tool_find("rss");
    c->watch = c->target == NULL;
    if (!c->watch) {
        if (c->switch_cmd)
            return bad(c, "--switch-cmd applies to watch mode only "
                          "(--metrics with no '-- TARGET'); a target "
                          "leak-hunt starts gets its stages itself");
        return 0;
    }
    if (c->restart)
        return bad(c, "--restart does not apply to watch mode: nothing is "
                      "started");
    if (c->memory_metric == NULL)
        return bad(c, "watch mode (--metrics with no '-- TARGET') needs "
                      "--memory-metric: nothing is started, so there is no "
                      "process of leak-hunt's to read the RSS of");
    if (strcmp(c->cmd, "hunt") == 0 && c->switch_cmd == NULL)
        return bad(c, "a hunt in watch mode needs --switch-cmd 'CMD "
                      "{stages}', the command that switches the service's "
                      "stages");
    if (strcmp(c->cmd, "soak") == 0)
        return bad(c, "soak does not watch a service: give '-- TARGET'");
    return 0;
}

int lh_cli_parse(int argc, char **argv, const char *help, lh_cli *c)
{
    defaults(c);
    int rc = parse_args(c, argc, argv, help);
    if (rc)
        return rc;
    rc = check_metrics(c);
    if (rc)
        return rc;
    c->builtin = c->target == NULL && !c->watch;
    if (c->builtin) {
        rc = finish_builtin(c);
        if (rc)
            return rc;
    } else if (c->ninject || c->scenario) {
        return bad(c, "%s only applies to the built-in pipeline",
                   c->ninject ? "--inject" : "--scenario");
    }
    default_enable(c);
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
    if (c->watch) {
        v = lh_calloc(1, sizeof *v); /* nothing to start */
        return v;
    }
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

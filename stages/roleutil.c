/*
 * roleutil.c - signals, port files, option values and lists for the roles.
 */
#include "roleutil.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "alloc.h"
#include "error.h"
#include "kafka.h"

volatile sig_atomic_t lh_role_stop;

/* The stop deadline: armed by lh_role_stop_deadline, started by the first
 * stop signal (a one-shot ITIMER_REAL), fired by SIGALRM. */
static volatile sig_atomic_t deadline_started;
static volatile sig_atomic_t deadline_ms; /* ms, 0: none */
static char deadline_msg[160];
static size_t deadline_msg_len;

static void on_deadline(int sig)
{
    (void)sig;
    ssize_t w = write(STDERR_FILENO, deadline_msg, deadline_msg_len);
    (void)w;
    _exit(1);
}

void lh_role_stop_started(void)
{
    if (deadline_ms <= 0 || deadline_started)
        return;
    deadline_started = 1;
    struct itimerval it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = deadline_ms / 1000;
    it.it_value.tv_usec = (deadline_ms % 1000) * 1000;
    setitimer(ITIMER_REAL, &it, NULL);
}

int lh_role_stop_deadline(const char *role)
{
    uint64_t ms = LH_STOP_DEADLINE_DEFAULT_MS;
    const char *env = getenv("LH_STOP_DEADLINE_MS");
    if (env != NULL && env[0] != '\0' &&
        lh_opt_u64_range(role, "LH_STOP_DEADLINE_MS", env, 0, 86400000,
                         &ms) != 0)
        return LH_EINVAL;
    int n = snprintf(deadline_msg, sizeof deadline_msg,
                     "selfheal %s: still stopping after %" PRIu64
                     " ms; exiting now\n", role, ms);
    deadline_msg_len = n < 0 ? 0
                       : (size_t)n < sizeof deadline_msg ? (size_t)n
                                                         : sizeof deadline_msg - 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_deadline;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    deadline_ms = (sig_atomic_t)ms;
    if (lh_role_stop)
        lh_role_stop_started();
    return 0;
}

static void on_stop(int sig)
{
    (void)sig;
    lh_role_stop = 1;
    lh_role_stop_started();
}

void lh_role_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

int lh_port_file_write(const char *path, unsigned port)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return LH_EINVAL;
    FILE *f = fopen(tmp, "we");
    if (f == NULL)
        return LH_ESYS;
    int bad = fprintf(f, "%u\n", port) < 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return LH_ESYS;
    }
    return 0;
}

int lh_port_file_read(const char *path, unsigned *port)
{
    unsigned p = 0;
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return LH_ENOTFOUND;
    int n = fscanf(f, "%u", &p);
    fclose(f);
    if (n != 1 || p == 0 || p > 65535)
        return LH_EPARSE;
    *port = p;
    return 0;
}

int lh_opt_u64(const char *role, const char *opt, const char *val,
               uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    if (val[0] == '-' || val[0] == '\0')
        goto bad;
    unsigned long long v = strtoull(val, &end, 10);
    if (errno != 0 || *end != '\0')
        goto bad;
    *out = (uint64_t)v;
    return 0;
bad:
    fprintf(stderr, "selfheal %s: bad value '%s' for %s (want a whole "
            "number)\n", role, val, opt);
    return LH_EINVAL;
}

int lh_opt_double(const char *role, const char *opt, const char *val,
                  double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(val, &end);
    if (errno != 0 || end == val || *end != '\0' || !isfinite(v) || v < 0) {
        fprintf(stderr, "selfheal %s: bad value '%s' for %s (want a "
                "non-negative number)\n", role, val, opt);
        return LH_EINVAL;
    }
    *out = v;
    return 0;
}

int lh_strv_split(const char *list, char sep, char ***out, size_t *n)
{
    size_t cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == sep;
    char **v = lh_calloc(cap + 1, sizeof *v);
    size_t k = 0;
    if (v == NULL)
        return LH_ENOMEM;
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, sep);
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > 0) {
            v[k] = lh_strndup(p, len);
            if (v[k] == NULL) {
                lh_strv_free(v);
                return LH_ENOMEM;
            }
            k++;
        }
        p += len;
        if (*p == sep)
            p++;
    }
    *out = v;
    *n = k;
    return 0;
}

void lh_strv_free(char **v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; v[i]; i++)
        lh_free(v[i]);
    lh_free(v);
}

const char *lh_opt_value(const char *role, int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "selfheal %s: option %s needs a value\n", role,
                argv[*i]);
        return NULL;
    }
    (*i)++;
    return argv[*i];
}

int lh_opt_u64_range(const char *role, const char *opt, const char *val,
                     uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (lh_opt_u64(role, opt, val, &v) != 0)
        return LH_EINVAL;
    if (v < min || v > max) {
        fprintf(stderr, "selfheal %s: %s %s out of range (%" PRIu64
                "..%" PRIu64 ")\n", role, opt, val, min, max);
        return LH_EINVAL;
    }
    *out = v;
    return 0;
}

void lh_opt_unknown(const char *role, const char *opt)
{
    fprintf(stderr, "selfheal %s: unknown option '%s' (see 'selfheal %s "
            "--help')\n", role, opt, role);
}

/* Stores one option's value; 0 or 2 (said). */
static int opt_take(const char *role, const lh_opt *o, const char *v,
                    void *field, void *opts)
{
    switch (o->kind) {
    case LH_OPT_STR:
        *(const char **)field = v;
        return 0;
    case LH_OPT_U64:
        return lh_opt_u64_range(role, o->name, v, o->lo, o->hi, field) ? 2 : 0;
    case LH_OPT_DOUBLE: {
        double d;
        if (lh_opt_double(role, o->name, v, &d) != 0)
            return 2;
        if (o->max > 0 && d > o->max) {
            fprintf(stderr, "selfheal %s: %s must be 0..%g\n", role, o->name,
                    o->max);
            return 2;
        }
        *(double *)field = d;
        return 0;
    }
    default:
        return o->call(opts, v);
    }
}

int lh_opts_parse(const char *role, int argc, char **argv,
                  const lh_opt *opts_table, size_t n, void *opts)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const lh_opt *o = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 1;
        for (size_t k = 0; k < n && o == NULL; k++)
            if (strcmp(a, opts_table[k].name) == 0)
                o = &opts_table[k];
        if (o == NULL) {
            lh_opt_unknown(role, a);
            return 2;
        }
        void *field = (char *)opts + o->off;
        if (o->kind == LH_OPT_FLAG) {
            *(int *)field = 1;
            continue;
        }
        const char *v = lh_opt_value(role, argc, argv, &i);
        if (v == NULL || opt_take(role, o, v, field, opts) != 0)
            return 2;
    }
    return 0;
}

int lh_auth_token(const char *role, const char *flag, const char **out)
{
    const char *t = flag;
    const char *from = "--auth-token";
    if (t == NULL) {
        t = getenv("LH_AUTH_TOKEN");
        from = "LH_AUTH_TOKEN";
        if (t != NULL && t[0] == '\0')
            t = NULL; /* set but empty: none */
    }
    if (t != NULL && (t[0] == '\0' || strlen(t) > LH_AUTH_TOKEN_MAX)) {
        fprintf(stderr, "selfheal %s: %s must be 1..%u bytes\n", role, from,
                LH_AUTH_TOKEN_MAX);
        return LH_EINVAL;
    }
    *out = t;
    return 0;
}

int lh_token_equal(const uint8_t *p, size_t n, const char *want)
{
    size_t wn = strlen(want);
    unsigned diff = n != wn;
    for (size_t i = 0; i < wn; i++)
        diff |= (unsigned)(uint8_t)want[i] ^ (i < n ? p[i] : 0u);
    return diff == 0;
}

int lh_opt_kafka_prop(const char *role, const char *spec)
{
    char err[512];
    int rc = lh_kafka_prop_add(spec, err, sizeof err);

    if (rc == LH_EINVAL) {
        fprintf(stderr, "selfheal %s: -X %s: %s\n", role, spec, err);
        return 2;
    }
    if (rc != 0) {
        fprintf(stderr, "selfheal %s: -X %s: %s\n", role, spec,
                lh_strerror(rc));
        return 2;
    }
    return 0;
}

int lh_role_topic_check(const char *role, const char *brokers,
                        const char *topic)
{
    int rc = lh_kafka_topic_check(brokers, topic, 5000);

    switch (rc) {
    case 0:
        return 0;
    case LH_ENOTFOUND:
        fprintf(stderr, "selfheal %s: topic %s not found on %s (create it, "
                "or give -X allow.auto.create.topics=true if the cluster "
                "may create it)\n", role, topic, brokers);
        return 2;
    case LH_EINVAL:
        fprintf(stderr, "selfheal %s: the Kafka client properties were "
                "refused (above)\n", role);
        return 2;
    default: /* the clients will retry, and say what fails */
        fprintf(stderr, "selfheal %s: cannot check that topic %s exists on "
                "%s: %s; going on\n", role, topic, brokers,
                rc == LH_ETIMEOUT ? "no answer in 5 s" : lh_strerror(rc));
        return 0;
    }
}

int lh_role_metrics_start(const char *role, uint64_t port,
                          const char *port_file, lh_metrics_render_fn render,
                          void *arg, lh_metrics **out)
{
    *out = NULL;
    if (port == UINT64_MAX) {
        if (port_file == NULL)
            return 0;
        fprintf(stderr, "selfheal %s: --metrics-port-file needs "
                "--metrics-port\n", role);
        return 2;
    }
    int rc = lh_metrics_start((uint16_t)port, render, arg, out);
    if (rc != 0) {
        fprintf(stderr, "selfheal %s: cannot serve metrics on port %" PRIu64
                ": %s\n", role, port, strerror(errno));
        return 1;
    }
    unsigned bound = lh_metrics_port(*out);
    if (port_file != NULL && lh_port_file_write(port_file, bound) != 0) {
        fprintf(stderr, "selfheal %s: cannot write %s: %s\n", role,
                port_file, strerror(errno));
        return 1;
    }
    fprintf(stderr, "selfheal %s: metrics at http://0.0.0.0:%u/metrics\n",
            role, bound);
    return 0;
}

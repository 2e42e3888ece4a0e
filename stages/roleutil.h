/*
 * roleutil.h - small things every selfheal role needs: stop signals, port
 * files, option values, comma lists.
 */
#ifndef LH_ROLEUTIL_H
#define LH_ROLEUTIL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

/* Set by SIGTERM / SIGINT once lh_role_signals ran. */
extern volatile sig_atomic_t lh_role_stop;

/* Installs SIGTERM and SIGINT handlers that set lh_role_stop (without
 * SA_RESTART, so poll returns EINTR) and ignores SIGPIPE. */
void lh_role_signals(void);

/* Bounds how long this process takes to stop.  Once a stop signal has
 * arrived (lh_role_signals's handler, or lh_role_stop_started from a
 * role's own handler), the process prints "selfheal ROLE: still stopping
 * after N ms; exiting now" and exits with status 1 when it has not exited
 * by itself within the deadline, whatever it still waits for (a store
 * that does not answer, a broker that is gone).  The deadline is
 * LH_STOP_DEADLINE_MS from the environment (milliseconds; 0: none),
 * default LH_STOP_DEADLINE_DEFAULT_MS.  Call once, at start; roles that
 * do not call it have no deadline.  0, or LH_EINVAL (a bad
 * LH_STOP_DEADLINE_MS, said on stderr). */
#define LH_STOP_DEADLINE_DEFAULT_MS 2000u
int lh_role_stop_deadline(const char *role);

/* Starts the deadline's clock, once (later calls do nothing).
 * Async-signal-safe: for a role's own stop-signal handler. */
void lh_role_stop_started(void);

/* Writes "PORT\n" to path atomically (path.tmp + rename).  0 or LH_ESYS. */
int lh_port_file_write(const char *path, unsigned port);

/* Reads a port file written by lh_port_file_write.  0 and *port, or
 * LH_ENOTFOUND (not there yet) / LH_EPARSE. */
int lh_port_file_read(const char *path, unsigned *port);

/* Option values: 0 or LH_EINVAL (with a one-line message on stderr naming
 * the role and option). */
int lh_opt_u64(const char *role, const char *opt, const char *val,
               uint64_t *out);
int lh_opt_double(const char *role, const char *opt, const char *val,
                  double *out);

/* Splits a comma list into a NULL-terminated array of lh_strdup'ed
 * strings (empty elements skipped); *n set.  0 or LH_ENOMEM.  Free with
 * lh_strv_free. */
int lh_strv_split(const char *list, char sep, char ***out, size_t *n);
void lh_strv_free(char **v);

/* Takes the value of option argv[*i] (advancing *i), printing
 * "selfheal ROLE: option OPT needs a value" when missing.  NULL then. */
const char *lh_opt_value(const char *role, int argc, char **argv, int *i);

/* Like lh_opt_u64, and the value must lie in [min, max], else the
 * one-line message says the range.  0 or LH_EINVAL. */
int lh_opt_u64_range(const char *role, const char *opt, const char *val,
                     uint64_t min, uint64_t max, uint64_t *out);

/* The one-line message for an option a role does not know (with a pointer
 * to --help), on stderr. */
void lh_opt_unknown(const char *role, const char *opt);

/*
 * A role's options as a table (lh_opts_parse): each row names an option
 * and where its value goes in the role's options struct.
 */
enum lh_opt_kind {
    LH_OPT_STR,    /* const char *: the value itself */
    LH_OPT_U64,    /* uint64_t in [lo, hi] (lh_opt_u64_range) */
    LH_OPT_DOUBLE, /* double >= 0 (lh_opt_double), <= max unless max is 0 */
    LH_OPT_FLAG,   /* int set to 1; takes no value */
    LH_OPT_CALL,   /* call(opts, value): 0, or 2 after a one-line message */
};

typedef struct lh_opt {
    const char *name; /* "--window" */
    int kind;         /* enum lh_opt_kind */
    size_t off;       /* offsetof the field in the options struct */
    uint64_t lo, hi;  /* LH_OPT_U64 */
    double max;       /* LH_OPT_DOUBLE */
    int (*call)(void *opts, const char *val); /* LH_OPT_CALL */
} lh_opt;

/* Rows of a table for the options struct type T: field `f` of T. */
#define LH_OPT_S(T, name, f) {name, LH_OPT_STR, offsetof(T, f), 0, 0, 0, NULL}
#define LH_OPT_N(T, name, f, lo, hi)                                           \
    {name, LH_OPT_U64, offsetof(T, f), lo, hi, 0, NULL}
#define LH_OPT_D(T, name, f, max)                                              \
    {name, LH_OPT_DOUBLE, offsetof(T, f), 0, 0, max, NULL}
#define LH_OPT_F(T, name, f) {name, LH_OPT_FLAG, offsetof(T, f), 0, 0, 0, NULL}
#define LH_OPT_C(name, call) {name, LH_OPT_CALL, 0, 0, 0, 0, call}

/*
 * Parses argv[1..] (argv[0] is the role) into the struct `opts` by the
 * table opts_table[0..n).  0; 1 when --help or -h came first (the caller
 * prints its usage on stdout and exits 0); 2 after a one-line message on
 * stderr for an unknown option, a missing or bad value (the caller exits
 * 2).  Options not given leave their fields as they were.
 */
int lh_opts_parse(const char *role, int argc, char **argv,
                  const lh_opt *opts_table, size_t n, void *opts);

/* `-X name=value` (kafka.h, lh_kafka_prop_add): 0, or 2 after
 * "selfheal ROLE: -X SPEC: REASON" on stderr.  For a table's LH_OPT_C row
 * (opts unused). */
int lh_opt_kafka_prop(const char *role, const char *spec);

/* The start-up check that the topic exists (lh_kafka_topic_check, 5 s at
 * most).  0 when it does, or when the check failed otherwise (no answer
 * in time, ...: said, and the role goes on; its clients retry); 2 after
 * a one-line message naming the topic and the bootstrap servers when it
 * does not, or when librdkafka refused the -X properties. */
int lh_role_topic_check(const char *role, const char *brokers,
                        const char *topic);

/* --metrics-port PORT and --metrics-port-file FILE (metrics.h): with
 * port UINT64_MAX (not given) nothing, *out NULL; else serves /metrics
 * on the port (0: the kernel picks), says "selfheal ROLE: metrics at
 * http://HOST:PORT/metrics" on stderr and writes the port to the file
 * (lh_port_file_write).  0; 2 after a one-line message (a port file
 * without a port); 1 after one (cannot listen, or write the file). */
int lh_role_metrics_start(const char *role, uint64_t port,
                          const char *port_file, lh_metrics_render_fn render,
                          void *arg, lh_metrics **out);

/* Longest auth token (the RPC framework's RPC_MAX_TOKEN too). */
#define LH_AUTH_TOKEN_MAX 256u

/* The shared auth token of --auth-token: `flag` when the option was given,
 * else LH_AUTH_TOKEN from the environment (so the token need not show in
 * ps; empty counts as unset), else none (*out NULL: connections are
 * not authenticated).  0, or
 * LH_EINVAL with a one-line message when the token is empty or longer
 * than LH_AUTH_TOKEN_MAX. */
int lh_auth_token(const char *role, const char *flag, const char **out);

/* 1 when the n bytes at p equal the string want, compared in time that
 * depends on strlen(want) only.  0 otherwise. */
int lh_token_equal(const uint8_t *p, size_t n, const char *want);

#endif

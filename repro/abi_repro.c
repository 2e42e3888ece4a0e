/*
 * abi_repro.c - abi-repro: the article's RPC/ABI-mismatch leak in one
 * process (README.md, "The story"; issue 4).
 *
 *   abi-repro --calls N [--variant 1|2] [--every K] [--window W] [--quiet]
 *
 * An RPC server runs on a thread, a client on the main thread, over
 * loopback; the client makes N store-style GET calls, up to W in flight.
 * Every K calls it drains the calls in flight and prints the live heap
 * (lh_mem_heap_live), the RSS and library A's registry of live objects;
 * at the end, the growth per call (least-squares slope over the samples
 * after the first tenth of the run, the warm-up in which buffers reach
 * their working size).  --calls 0 runs until SIGTERM or SIGINT, for the
 * harness; LEAKHUNT_STATS gets `work=<calls> heap=<bytes>` lines (docs/protocol.md
 * section 2).
 *
 * --variant selects which library-A API the framework carries bodies in,
 * that is which ABI break of A v2 a v1-compiled framework runs into:
 * 1: a_buf (v2 grew the struct; the inline release misses the new block),
 * 2: a_msg (v2 swapped refcount and flags; the inline unref never frees).
 *
 * The builds differ only in what they link (repro/CMakeLists.txt); the
 * binary reports what it finds: the a.h version the framework was compiled
 * against and the version of A that is running.
 */
#include "rpc.h"

#include "alloc.h"
#include "clock.h"
#include "error.h"
#include "memsample.h"
#include "stats.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef ABI_REPRO_BUILD
#define ABI_REPRO_BUILD "unknown"
#endif

#define VALUE_SIZE 64

typedef struct options {
    unsigned long calls;
    int variant;
    unsigned long every;
    unsigned window;
    int quiet;
} options;

typedef struct sample {
    unsigned long calls;
    uint64_t heap, rss;
    size_t a_objects, a_bytes;
} sample;

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    (void)sig;
    stop_signal = 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: abi-repro --calls N [--variant 1|2] [--every K] "
               "[--window W] [--quiet]\n"
               "  --calls N    RPC calls to make (0: until SIGTERM)\n"
               "  --variant V  1: a_buf bodies (grown struct), 2: a_msg "
               "bodies (swapped members); default 1\n"
               "  --every K    sample every K calls (default N/20)\n"
               "  --window W   calls in flight at once (default 32)\n"
               "  --quiet      print only the result line\n");
}

static int parse_ulong(const char *s, unsigned long *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
        return LH_EINVAL;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
    int have_calls = 0;
    unsigned long v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--quiet") == 0) {
            o->quiet = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (i + 1 >= argc || parse_ulong(argv[i + 1], &v) < 0) {
            fprintf(stderr, "abi-repro: %s needs a number\n", a);
            return LH_EINVAL;
        }
        i++;
        if (strcmp(a, "--calls") == 0) {
            o->calls = v;
            have_calls = 1;
        } else if (strcmp(a, "--variant") == 0 && (v == 1 || v == 2)) {
            o->variant = (int)v;
        } else if (strcmp(a, "--every") == 0 && v > 0) {
            o->every = v;
        } else if (strcmp(a, "--window") == 0 && v > 0 && v <= 4096) {
            o->window = (unsigned)v;
        } else {
            fprintf(stderr, "abi-repro: bad option %s %s\n", a, argv[i]);
            return LH_EINVAL;
        }
    }
    if (!have_calls) {
        fprintf(stderr, "abi-repro: --calls is required\n");
        return LH_EINVAL;
    }
    return 0;
}

/* The store's GET, answered from nothing: the reply is a value derived
 * from the key, so the server holds no state and a correct build stays
 * flat. */
static uint8_t handle(void *arg, uint8_t method, const uint8_t *body,
                      uint32_t len, rpc_out *out)
{
    (void)arg;
    if (method == RPC_METHOD_PING)
        return RPC_STATUS_OK;
    if (method != RPC_METHOD_GET || len == 0 || len > 255)
        return RPC_STATUS_BADREQ;
    uint8_t value[VALUE_SIZE];
    for (size_t i = 0; i < sizeof(value); i++)
        value[i] = (uint8_t)(body[i % len] + i);
    rpc_value v = {body, (uint16_t)len, value, sizeof(value), 0, 1};
    uint8_t enc[RPC_VALUE_HEADER_SIZE + 255 + VALUE_SIZE];
    int n = rpc_value_encode(&v, enc, sizeof(enc));
    if (n < 0 || rpc_out_append(out, enc, (uint32_t)n) < 0)
        return RPC_STATUS_ERROR;
    return RPC_STATUS_OK;
}

typedef struct client_state {
    unsigned long done, failed;
    int first_err;
} client_state;

static void on_reply(void *arg, int err, const rpc_reply *reply)
{
    client_state *cs = arg;
    cs->done++;
    rpc_value v;
    if (err == 0 && (reply->status != RPC_STATUS_OK ||
                     rpc_value_decode(reply->body, reply->body_len, &v) < 0))
        err = LH_EPARSE;
    if (err < 0) {
        cs->failed++;
        if (cs->first_err == 0)
            cs->first_err = err;
    }
}

/* Polls the client once (up to `ms`).  0 or LH_ECLOSED. */
static int pump(rpc_client *c, int ms)
{
    struct pollfd p = {rpc_client_fd(c), rpc_client_events(c), 0};
    int n = poll(&p, 1, ms);
    if (n < 0 && errno != EINTR)
        return LH_ESYS;
    return rpc_client_process(c, n > 0 ? p.revents : 0);
}

static void take_sample(unsigned long calls, sample *s)
{
    memset(s, 0, sizeof(*s));
    s->calls = calls;
    lh_mem_heap_live(&s->heap);
    lh_mem_rss(0, &s->rss);
    rpc_liba_live(&s->a_objects, &s->a_bytes);
}

static void print_sample(const sample *s)
{
    printf("%12lu %14llu %14llu %12zu %14zu\n", s->calls,
           (unsigned long long)s->heap, (unsigned long long)s->rss,
           s->a_objects, s->a_bytes);
    fflush(stdout);
}

static void put_stats(lh_stats_writer *w, unsigned long calls)
{
    if (w == NULL)
        return;
    lh_stats_line line = {0};
    line.work = calls;
    line.pid = getpid();
    line.has = LH_STATS_HAS_PID | LH_STATS_HAS_ROLE;
    uint64_t heap = 0;
    if (lh_mem_heap_live(&heap) == 0) {
        line.heap = heap;
        line.has |= LH_STATS_HAS_HEAP;
    }
    snprintf(line.role, sizeof(line.role), "abi-repro");
    lh_stats_writer_put(w, &line);
}

/* Least-squares slope of y over x for samples[from..n). */
static double slope(const sample *s, size_t from, size_t n,
                    double (*y)(const sample *))
{
    if (n < from + 2)
        return 0.0;
    double k = (double)(n - from), sx = 0, sy = 0;
    for (size_t i = from; i < n; i++) {
        sx += (double)s[i].calls;
        sy += y(&s[i]);
    }
    double mx = sx / k, my = sy / k, num = 0, den = 0;
    for (size_t i = from; i < n; i++) {
        double dx = (double)s[i].calls - mx;
        num += dx * (y(&s[i]) - my);
        den += dx * dx;
    }
    return den > 0 ? num / den : 0.0;
}

static double y_heap(const sample *s)
{
    return (double)s->heap;
}
static double y_rss(const sample *s)
{
    return (double)s->rss;
}
static double y_abytes(const sample *s)
{
    return (double)s->a_bytes;
}
static double y_aobjs(const sample *s)
{
    return (double)s->a_objects;
}

/* One run: the server on its thread, the client, the samples. */
typedef struct repro {
    options o;
    rpc_server *server;
    rpc_server_thread *thread;
    rpc_client *c;
    sample *samples;
    size_t nsamples, cap;
    lh_stats_writer *stats;
    client_state cs;
    unsigned long sent, next_sample;
    int64_t last_stats;
    uint64_t seq;
} repro;

/* The sample table (allocated before the run, so that it does not show
 * up in the heap it measures: 64 samples; more only with --every small or
 * --calls 0), the stats writer, the server and its thread, the client.
 * 0, or -1 after a message. */
static int setup(repro *r)
{
    char addr[32];
    uint16_t port = 0;
    rpc_opts opts = {0};

    r->cap = 64;
    r->samples = lh_calloc(r->cap, sizeof(*r->samples));
    if (r->samples == NULL) {
        fprintf(stderr, "abi-repro: out of memory\n");
        return -1;
    }
    int rc = lh_stats_writer_from_env(&r->stats);
    if (rc < 0) {
        fprintf(stderr, "abi-repro: cannot open LEAKHUNT_STATS file: %s\n",
                lh_strerror(rc));
        return -1;
    }
    opts.a_api = r->o.variant == 2 ? RPC_A_MSG : RPC_A_BUF;
    opts.max_inflight = r->o.window;
    rc = rpc_server_new("127.0.0.1", 0, &opts, handle, NULL, &r->server,
                        &port);
    if (rc < 0) {
        fprintf(stderr, "abi-repro: cannot start rpc server: %s\n",
                lh_strerror(rc));
        return -1;
    }
    if (rpc_server_thread_start(r->server, &r->thread) != 0) {
        fprintf(stderr, "abi-repro: cannot start server thread\n");
        return -1;
    }
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)port);
    rc = rpc_client_connect(addr, &opts, &r->c);
    if (rc < 0) {
        fprintf(stderr, "abi-repro: cannot connect to %s: %s\n", addr,
                lh_strerror(rc));
        return -1;
    }
    return 0;
}

static void print_header(const options *o, int hv, int lv)
{
    printf("abi-repro: build %s: framework compiled against a.h v%d, "
           "running liba v%d%s\n",
           ABI_REPRO_BUILD, hv, lv, hv == lv ? "" : " (ABI MISMATCH)");
    printf("abi-repro: variant %d: bodies in %s, %lu calls, window %u\n",
           o->variant,
           o->variant == 2 ? "a_msg (refcount/flags swapped in v2)"
                           : "a_buf (struct grew a field in v2)",
           o->calls, o->window);
    printf("%12s %14s %14s %12s %14s\n", "calls", "heap_bytes",
           "rss_bytes", "liba_objects", "liba_bytes");
}

/* Samples a quiet process (nothing in flight).  0, or -1 after a
 * message. */
static int sample_now(repro *r)
{
    void *v = r->samples;
    if (lh_grow(&v, &r->cap, r->nsamples + 1, sizeof(*r->samples), 64) != 0) {
        fprintf(stderr, "abi-repro: out of memory\n");
        return -1;
    }
    r->samples = v;
    take_sample(r->cs.done, &r->samples[r->nsamples]);
    if (!r->o.quiet)
        print_sample(&r->samples[r->nsamples]);
    r->nsamples++;
    r->next_sample = r->sent + r->o.every;
    put_stats(r->stats, r->cs.done);
    r->last_stats = lh_now_us();
    return 0;
}

/* Keeps the window full up to the next sample point (or to the end once a
 * signal asked us to stop).  0, or -1 after a message. */
static int send_calls(repro *r)
{
    unsigned long limit = r->next_sample;
    if (r->o.calls && limit > r->o.calls)
        limit = r->o.calls;
    if (stop_signal)
        limit = r->sent;
    while (r->sent < limit && rpc_client_inflight(r->c) < r->o.window) {
        char key[32];
        int klen = snprintf(key, sizeof(key), "key-%llu",
                            (unsigned long long)(r->seq++ % 100000));
        int rc = rpc_client_call(r->c, RPC_METHOD_GET, key, (uint32_t)klen,
                                 on_reply, &r->cs);
        if (rc == LH_EFULL)
            break;
        if (rc < 0) {
            fprintf(stderr, "abi-repro: call failed: %s\n", lh_strerror(rc));
            return -1;
        }
        r->sent++;
    }
    return 0;
}

/* The calls, sampled every --every.  0, or -1 after a message. */
static int run(repro *r)
{
    for (;;) {
        int finished = r->o.calls ? r->cs.done >= r->o.calls
                                  : stop_signal != 0;
        int drained = r->cs.done == r->sent;
        if (drained && (r->sent == r->next_sample || finished) &&
            sample_now(r) != 0)
            return -1;
        if (finished && drained)
            return 0;
        if (send_calls(r) != 0)
            return -1;
        int rc = pump(r->c, 100);
        if (rc < 0) {
            fprintf(stderr, "abi-repro: connection lost: %s\n",
                    lh_strerror(rc));
            return -1;
        }
        if (r->stats && lh_now_us() - r->last_stats >= 100000) {
            put_stats(r->stats, r->cs.done);
            r->last_stats = lh_now_us();
        }
    }
}

/* The result: growth per call after the warm-up (the first tenth of the
 * run).  0, or -1 when calls failed. */
static int report(const repro *r, int hv, int lv)
{
    const sample *s = r->samples;
    size_t n = r->nsamples, from = 0;

    if (r->cs.failed) {
        fprintf(stderr, "abi-repro: %lu of %lu calls failed (first: %s)\n",
                r->cs.failed, r->cs.done, lh_strerror(r->cs.first_err));
        return -1;
    }
    while (from + 2 < n && s[from].calls < s[n - 1].calls / 10)
        from++;
    double heap_pc = slope(s, from, n, y_heap);
    double rss_pc = slope(s, from, n, y_rss);
    double ab_pc = slope(s, from, n, y_abytes);
    double ao_pc = slope(s, from, n, y_aobjs);
    if (!r->o.quiet)
        printf("abi-repro: growth per call after warm-up: heap %+.1f B, "
               "rss %+.1f B, liba registry %+.1f B (%+.2f objects)\n",
               heap_pc, rss_pc, ab_pc, ao_pc);
    printf("result build=%s header=%d runtime=%d variant=%d calls=%lu "
           "heap_bytes_per_call=%.1f rss_bytes_per_call=%.1f "
           "liba_bytes_per_call=%.1f liba_objects_per_call=%.2f\n",
           ABI_REPRO_BUILD, hv, lv, r->o.variant, r->cs.done, heap_pc,
           rss_pc, ab_pc, ao_pc);
    return 0;
}

static void teardown(repro *r)
{
    rpc_client_free(r->c);
    int rc = rpc_server_thread_stop(r->thread);
    if (rc < 0)
        fprintf(stderr, "abi-repro: server stopped: %s\n", lh_strerror(rc));
    rpc_server_free(r->server);
    lh_stats_writer_close(r->stats);
    lh_free(r->samples);
}

int main(int argc, char **argv)
{
    repro r;
    int status = 3;

    memset(&r, 0, sizeof(r));
    r.o = (options){0, 1, 0, 32, 0};
    if (parse_args(argc, argv, &r.o) < 0) {
        usage(stderr);
        return 2;
    }
    if (r.o.every == 0)
        r.o.every = r.o.calls >= 20 ? r.o.calls / 20 : 1;
    if (r.o.calls == 0 && r.o.every < 1000)
        r.o.every = 1000;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    if (setup(&r) == 0) {
        int hv = rpc_liba_header_version(), lv = rpc_liba_runtime_version();
        if (!r.o.quiet)
            print_header(&r.o, hv, lv);
        if (run(&r) == 0 && report(&r, hv, lv) == 0)
            status = 0;
    }
    teardown(&r);
    return status;
}

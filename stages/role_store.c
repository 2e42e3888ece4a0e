/*
 * role_store.c - `selfheal store`: the downstream key-value store that the
 * pipeline verifies and heals, served through the RPC framework
 * (repro/rpc/rpc.h): GET key -> rpc_value (or NOTFOUND), PUT rpc_value.
 *
 * Versions: a PUT older than the stored version is ignored.  The store can
 * be told to damage a fraction of writes (--corrupt-rate F): the first PUT
 * of each (key, version) - the producer's write - is, with probability F,
 * either dropped (not applied) or applied with one byte of the value
 * flipped, and counted in `corrupted`.  A later PUT of the same version is
 * a heal and is never damaged.
 *
 * Accounting (exact, so tests can check healing): each damaged write stays
 * outstanding on its key until either a heal PUT of that version is applied
 * (store_healed) or a write of a newer version replaces it (superseded:
 * the damage disappeared before anyone healed it).  So at exit
 *   corrupted == store_healed + superseded + unhealed.
 * The store also remembers, per key, the latest version any PUT carried and
 * that value's checksum; at exit it counts the keys whose stored value is
 * not that latest value (store_keys_wrong): zero means every key holds its
 * latest value.
 *
 * PUT replies carry one byte: 0 applied and repaired a damaged write, 1
 * ignored (older than stored), 2 applied (or dropped on purpose) without
 * repairing anything.
 *
 * Slowness (for fault tests): --delay-us US makes the store take US
 * microseconds over every request before answering it.  The server is one
 * thread, so this caps it at 1e6 / US requests per second, and requests
 * queue up in front of it as they would before a slow disk.  (An outage,
 * the store not answering at all, is a SIGSTOP of the process: the tests
 * do that; nothing here has to pretend.)
 *
 * Untrusted input is the RPC framework's business (a bad frame closes that
 * connection; so does a missing or wrong --auth-token); its counts appear
 * here as bad_frames and refused.
 *
 * Storage: a dense array of entries and an open-addressing index over it
 * (linear probing on 8-byte slots holding the key's 32-bit hash and the
 * entry's number, power-of-two size, grown at 50% load), so a probe
 * touches a key only when the hashes match; keys of up to INLINE_KEY bytes
 * inside the entry, longer keys and values in allocations of their own;
 * a PUT of a value of the same size reuses the value's allocation.
 */
#include "roles.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "clock.h"
#include "counters.h"
#include "error.h"
#include "event.h"
#include "net.h"
#include "ring.h"
#include "roleutil.h"
#include "rpc.h"

#define MAX_DAMAGED 4

_Static_assert(LH_AUTH_TOKEN_MAX == RPC_MAX_TOKEN, "one token limit");

#define INLINE_KEY 16

typedef struct entry {
    union {
        uint8_t *ptr;              /* key_len > INLINE_KEY */
        uint8_t in[INLINE_KEY];    /* short keys live in the entry */
    } key;
    uint8_t *value;
    uint64_t version;   /* stored version (0 with nothing stored) */
    uint64_t attempted; /* newest version any PUT carried */
    uint32_t checksum;  /* stored checksum field */
    uint32_t latest_checksum; /* checksum of the `attempted` value */
    uint32_t value_len;
    uint32_t hash;
    uint16_t key_len;
    uint8_t stored;     /* a value is stored */
    uint8_t ndamaged;
    uint64_t damaged[MAX_DAMAGED]; /* damaged versions still outstanding */
} entry;

static const uint8_t *key_of(const entry *e)
{
    return e->key_len > INLINE_KEY ? e->key.ptr : e->key.in;
}

typedef struct store {
    uint64_t *index; /* hash << 32 | (entry number + 1); 0: empty slot */
    size_t icap;     /* power of two */
    entry *ents;     /* dense, in insertion order */
    size_t len, ecap;
    double corrupt_rate;
    uint64_t delay_us; /* taken over each request */
    uint64_t rng;
    lh_counters c;       /* guarded by lock */
    const char *counters_path;
    pthread_mutex_t lock;
    volatile int writer_stop;
    rpc_server *srv; /* for its bad_frames / refused counts */
    lh_buf scratch;
} store;

static uint64_t rng_next(store *s)
{
    /* xorshift64* */
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return s->rng * 0x2545F4914F6CDD1DULL;
}

static double rng_unit(store *s)
{
    return (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

/* The key's hash for the index: the ring's (core/ring.h: FNV-1a with a
 * finaliser that spreads every input bit over the whole word), so keys
 * differing only in their last characters spread over the low bits the
 * table uses. */
static uint32_t key_hash(const uint8_t *key, uint16_t len)
{
    return (uint32_t)lh_ring_hash(key, len);
}

/* The index slot holding key, or the empty slot where it would go
 * (*found 0). */
static size_t slot_of(const store *s, const uint8_t *key, uint16_t len,
                      uint32_t h, int *found)
{
    size_t mask = s->icap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint64_t v = s->index[i];
        if (v == 0) {
            *found = 0;
            return i;
        }
        if ((uint32_t)(v >> 32) == h) {
            const entry *e = &s->ents[(uint32_t)v - 1];
            if (e->key_len == len && memcmp(key_of(e), key, len) == 0) {
                *found = 1;
                return i;
            }
        }
    }
}

static int grow_index(store *s)
{
    size_t ncap = s->icap ? s->icap * 2 : 1024;
    uint64_t *idx = lh_calloc(ncap, sizeof *idx);
    if (idx == NULL)
        return LH_ENOMEM;
    for (size_t k = 0; k < s->len; k++) {
        uint32_t h = s->ents[k].hash;
        size_t i = h & (ncap - 1);
        while (idx[i] != 0)
            i = (i + 1) & (ncap - 1);
        idx[i] = (uint64_t)h << 32 | (uint64_t)(k + 1);
    }
    lh_free(s->index);
    s->index = idx;
    s->icap = ncap;
    return 0;
}

/* The entry for key, created (empty) when missing and `create`.  NULL when
 * missing, or on ENOMEM.  Valid until the next lookup. */
static entry *lookup(store *s, const uint8_t *key, uint16_t len, int create)
{
    uint32_t h = key_hash(key, len);
    int found = 0;
    size_t i = 0;

    if (s->icap > 0) {
        i = slot_of(s, key, len, h, &found);
        if (found)
            return &s->ents[(uint32_t)s->index[i] - 1];
    }
    if (!create || s->len >= UINT32_MAX - 1)
        return NULL;
    if ((s->len + 1) * 2 > s->icap) {
        if (grow_index(s) != 0)
            return NULL;
        i = slot_of(s, key, len, h, &found);
    }
    void *ents = s->ents;
    int rc = lh_grow(&ents, &s->ecap, s->len + 1, sizeof *s->ents, 1024);
    s->ents = ents;
    if (rc != 0)
        return NULL;
    entry *e = &s->ents[s->len];
    memset(e, 0, sizeof *e);
    if (len > INLINE_KEY) {
        e->key.ptr = lh_malloc(len);
        if (e->key.ptr == NULL)
            return NULL;
        memcpy(e->key.ptr, key, len);
    } else {
        memcpy(e->key.in, key, len);
    }
    e->key_len = len;
    e->hash = h;
    s->index[i] = (uint64_t)h << 32 | (uint64_t)(s->len + 1);
    s->len++;
    s->c.v[LH_C_store_keys] = s->len;
    return e;
}

static uint8_t reply_get(store *s, const uint8_t *body, uint32_t len,
                         rpc_out *out)
{
    s->c.v[LH_C_store_gets]++;
    if (len == 0 || len > LH_EVENT_MAX_KEY)
        return RPC_STATUS_BADREQ;
    entry *e = lookup(s, body, (uint16_t)len, 0);
    if (e == NULL || !e->stored)
        return RPC_STATUS_NOTFOUND;
    rpc_value v = {.key = key_of(e),
                   .key_len = e->key_len,
                   .value = e->value,
                   .value_len = e->value_len,
                   .checksum = e->checksum,
                   .version = e->version};
    size_t need = rpc_value_size(&v);
    lh_buf_reset(&s->scratch);
    if (lh_buf_reserve(&s->scratch, need) != 0 ||
        rpc_value_encode(&v, lh_buf_tail(&s->scratch), need) < 0 ||
        rpc_out_append(out, lh_buf_tail(&s->scratch), (uint32_t)need) != 0)
        return RPC_STATUS_ERROR;
    return RPC_STATUS_OK;
}

/* Stores v in e; `flip` damages one byte.  Resolves outstanding damage:
 * older versions are superseded, this version (on a heal) is repaired.
 * Returns 1 when it repaired, 0 otherwise, LH_ENOMEM (e unchanged). */
static int apply(store *s, entry *e, const rpc_value *v, int heal, int flip)
{
    uint8_t *val = NULL;
    int repaired = 0;

    if (v->value_len > 0 && e->value != NULL && e->value_len == v->value_len) {
        val = e->value; /* same size: overwrite in place */
    } else if (v->value_len > 0) {
        val = lh_malloc(v->value_len);
        if (val == NULL)
            return LH_ENOMEM;
    }
    if (v->value_len > 0) {
        memcpy(val, v->value, v->value_len);
        if (flip)
            val[rng_next(s) % v->value_len] ^= 0x5a;
    }
    if (e->value != val)
        lh_free(e->value);
    e->value = val;
    e->value_len = v->value_len;
    e->version = v->version;
    e->checksum = v->checksum;
    e->stored = 1;
    s->c.v[LH_C_store_puts]++;
    uint8_t kept = 0;
    for (uint8_t i = 0; i < e->ndamaged; i++) {
        if (e->damaged[i] < v->version) {
            s->c.v[LH_C_superseded]++;
        } else if (e->damaged[i] == v->version && heal && !flip) {
            s->c.v[LH_C_store_healed]++;
            repaired = 1;
        } else {
            e->damaged[kept++] = e->damaged[i];
        }
    }
    e->ndamaged = kept;
    return repaired;
}

static void add_damaged(store *s, entry *e, uint64_t version)
{
    s->c.v[LH_C_corrupted]++;
    if (e->ndamaged == MAX_DAMAGED) {
        /* Oldest gives way; it can only be superseded by now. */
        s->c.v[LH_C_superseded]++;
        memmove(e->damaged, e->damaged + 1,
                (MAX_DAMAGED - 1) * sizeof e->damaged[0]);
        e->ndamaged--;
    }
    e->damaged[e->ndamaged++] = version;
}

static uint8_t reply_put(store *s, const uint8_t *body, uint32_t len,
                         rpc_out *out)
{
    rpc_value v;
    uint8_t answer = 2;

    if (rpc_value_decode(body, len, &v) < 0 || v.key_len == 0)
        return RPC_STATUS_BADREQ;
    entry *e = lookup(s, v.key, v.key_len, 1);
    if (e == NULL)
        return RPC_STATUS_ERROR;
    int first = v.version > e->attempted;
    if (first) {
        e->attempted = v.version;
        e->latest_checksum = v.checksum;
    }
    if (e->stored && v.version < e->version) {
        answer = 1;
    } else if (first && s->corrupt_rate > 0 &&
               rng_unit(s) < s->corrupt_rate) {
        int drop = (int)(rng_next(s) & 1);
        if (!drop && v.value_len > 0) {
            if (apply(s, e, &v, 0, 1) < 0)
                return RPC_STATUS_ERROR;
        }
        add_damaged(s, e, v.version);
    } else {
        int rc = apply(s, e, &v, !first, 0);
        if (rc < 0)
            return RPC_STATUS_ERROR;
        answer = rc == 1 ? 0 : 2;
    }
    if (rpc_out_append(out, &answer, 1) != 0)
        return RPC_STATUS_ERROR;
    return RPC_STATUS_OK;
}

static uint8_t handle(void *arg, uint8_t method, const uint8_t *body,
                      uint32_t len, rpc_out *out)
{
    store *s = arg;
    uint8_t status;

    if (s->delay_us > 0) /* before the lock: the counters stay fresh */
        lh_sleep_us((int64_t)s->delay_us);
    pthread_mutex_lock(&s->lock);
    switch (method) {
    case RPC_METHOD_GET:
        status = reply_get(s, body, len, out);
        break;
    case RPC_METHOD_PUT:
        status = reply_put(s, body, len, out);
        break;
    case RPC_METHOD_PING:
        status = RPC_STATUS_OK;
        break;
    default:
        status = RPC_STATUS_BADREQ;
        break;
    }
    pthread_mutex_unlock(&s->lock);
    return status;
}

/* The exit check: keys not holding their latest value, damage left. */
static void final_check(store *s)
{
    uint64_t wrong = 0, unhealed = 0;
    for (size_t i = 0; i < s->len; i++) {
        entry *e = &s->ents[i];
        unhealed += e->ndamaged;
        if (!e->stored || e->version != e->attempted ||
            lh_checksum(e->value, e->value_len) != e->latest_checksum)
            wrong++;
    }
    s->c.v[LH_C_store_keys_wrong] = wrong;
    s->c.v[LH_C_unhealed] = unhealed;
}

/* s->c with the RPC server's counts of bad and refused connections (read
 * atomically, so any thread may call this). */
static void snapshot(store *s, lh_counters *out)
{
    rpc_server_stats st;
    pthread_mutex_lock(&s->lock);
    *out = s->c;
    pthread_mutex_unlock(&s->lock);
    rpc_server_get_stats(s->srv, &st);
    out->v[LH_C_bad_frames] = st.bad_frames;
    out->v[LH_C_refused] = st.refused;
}

/* The counters file is written by a thread every 100 ms, so it is fresh
 * even while no request comes in. */
static void *counters_writer(void *arg)
{
    store *s = arg;
    lh_counters snap;
    while (!s->writer_stop) {
        snapshot(s, &snap);
        lh_counters_write(&snap, "store", s->counters_path);
        lh_sleep_us(100000);
    }
    return NULL;
}

static void store_free(store *s)
{
    for (size_t i = 0; i < s->len; i++) {
        if (s->ents[i].key_len > INLINE_KEY)
            lh_free(s->ents[i].key.ptr);
        lh_free(s->ents[i].value);
    }
    lh_free(s->ents);
    lh_free(s->index);
    lh_buf_free(&s->scratch);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: selfheal store [--listen HOST:PORT] [--port-file FILE]\n"
            "                      [--corrupt-rate F] [--seed N] "
            "[--counters FILE]\n"
            "                      [--auth-token TOKEN] [--delay-us US]\n"
            "  --corrupt-rate F  drop or corrupt that fraction of first "
            "writes (default 0)\n"
            "  --auth-token T    clients must send T (default: LH_AUTH_TOKEN; "
            "none: open)\n"
            "  --delay-us US     take US microseconds over each request "
            "(default 0; a slow\n"
            "                    store for fault tests)\n");
}

typedef struct store_opts {
    const char *listen, *port_file, *counters, *auth_token;
    uint64_t seed, delay_us;
    double corrupt_rate;
} store_opts;

static const lh_opt store_options[] = {
    LH_OPT_S(store_opts, "--listen", listen),
    LH_OPT_S(store_opts, "--port-file", port_file),
    LH_OPT_S(store_opts, "--counters", counters),
    LH_OPT_S(store_opts, "--auth-token", auth_token),
    LH_OPT_N(store_opts, "--seed", seed, 0, UINT64_MAX),
    LH_OPT_N(store_opts, "--delay-us", delay_us, 0, 10000000),
    LH_OPT_D(store_opts, "--corrupt-rate", corrupt_rate, 1.0),
};

/* The RPC server on --listen, and the port file.  0, or the exit
 * status. */
static int store_listen(store *s, const store_opts *o, rpc_server **srv)
{
    rpc_opts ro = {0};
    char host[256];
    uint16_t port = 0, bound = 0;

    if (lh_auth_token("store", o->auth_token, &ro.auth_token) != 0)
        return 2;
    if (lh_net_split(o->listen, host, sizeof host, &port) != 0) {
        fprintf(stderr, "selfheal store: bad address '%s'\n", o->listen);
        return 2;
    }
    int rc = rpc_server_new(host, port, &ro, handle, s, srv, &bound);
    if (rc != 0) {
        fprintf(stderr, "selfheal store: cannot listen on %s: %s\n",
                o->listen, lh_strerror(rc));
        return 1;
    }
    if (o->port_file != NULL && lh_port_file_write(o->port_file, bound) != 0) {
        fprintf(stderr, "selfheal store: cannot write %s: %s\n", o->port_file,
                strerror(errno));
        return 1;
    }
    return 0;
}

/* Serves until a stop signal, the counters file written by a thread
 * meanwhile; then the exit check.  The exit status. */
static int serve(store *s)
{
    pthread_t writer;
    lh_role_signals();
    int writing = s->counters_path != NULL &&
                  pthread_create(&writer, NULL, counters_writer, s) == 0;
    int rc = rpc_server_run(s->srv, (volatile int *)&lh_role_stop);
    if (writing) {
        s->writer_stop = 1;
        pthread_join(writer, NULL);
    }
    if (rc != 0)
        fprintf(stderr, "selfheal store: serving failed: %s\n",
                lh_strerror(rc));
    final_check(s);
    if (s->counters_path != NULL) {
        lh_counters snap;
        snapshot(s, &snap);
        lh_counters_write(&snap, "store", s->counters_path);
    }
    return rc == 0 ? 0 : 1;
}

int lh_role_store(int argc, char **argv)
{
    store_opts o = {.listen = "127.0.0.1:0", .seed = 1};
    store s;
    int status = lh_opts_parse("store", argc, argv, store_options,
                               sizeof store_options / sizeof store_options[0],
                               &o);

    if (status == 1)
        usage(stdout);
    if (status != 0)
        return status == 1 ? 0 : status;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.lock, NULL);
    s.counters_path = o.counters;
    s.corrupt_rate = o.corrupt_rate;
    s.delay_us = o.delay_us;
    s.rng = o.seed ? o.seed : 1;
    status = store_listen(&s, &o, &s.srv);
    if (status == 0)
        status = serve(&s);
    rpc_server_free(s.srv);
    store_free(&s);
    pthread_mutex_destroy(&s.lock);
    return status;
}

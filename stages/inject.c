/*
 * inject.c - keeping or dropping the blocks of planted leaks.
 *
 * The blocks are allocated by LH_INJECT in the stage files (see inject.h).
 * Every block is written to (memset), so it is resident and counted by RSS
 * as well as by heap figures.  The `reachable` list is threaded through the
 * blocks themselves (first word: next), so keeping a block costs no
 * allocation of ours that would be attributed to this file.
 */
#include "inject.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "registry.h"

/* Head of the never-trimmed list: static, so the blocks stay reachable. */
static void *reachable_head;

int lh_inject_new(lh_inject **out)
{
    lh_inject *inj = lh_calloc(1, sizeof *inj);
    if (inj == NULL)
        return LH_ENOMEM;
    *out = inj;
    return 0;
}

static int parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > 19)
        return LH_EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return LH_EINVAL;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

int lh_inject_add(lh_inject *inj, const char *spec, char *err, size_t errcap)
{
    const char *f[4] = {NULL};
    size_t flen[4] = {0};
    int nf = 0;
    const char *p = spec;
    uint64_t bytes = 0, every = 1;
    int kind;

    while (nf < 4) {
        const char *colon = strchr(p, ':');
        f[nf] = p;
        flen[nf] = colon ? (size_t)(colon - p) : strlen(p);
        nf++;
        if (colon == NULL)
            break;
        p = colon + 1;
    }
    if (nf < 3 || f[nf - 1][flen[nf - 1]] != '\0') {
        snprintf(err, errcap, "bad inject spec '%s' (want STAGE:KIND:BYTES"
                 "[:EVERY])", spec);
        return LH_EINVAL;
    }
    int stage = lh_stage_lookup(f[0], flen[0]);
    if (stage < 0) {
        snprintf(err, errcap, "bad inject spec '%s': unknown stage '%.*s'",
                 spec, (int)flen[0], f[0]);
        return LH_EINVAL;
    }
    if (flen[1] == 4 && memcmp(f[1], "lost", 4) == 0)
        kind = LH_INJECT_LOST;
    else if (flen[1] == 9 && memcmp(f[1], "reachable", 9) == 0)
        kind = LH_INJECT_REACHABLE;
    else if (flen[1] == 5 && memcmp(f[1], "cache", 5) == 0)
        kind = LH_INJECT_CACHE;
    else {
        snprintf(err, errcap, "bad inject spec '%s': unknown kind '%.*s' "
                 "(lost, reachable, cache)", spec, (int)flen[1], f[1]);
        return LH_EINVAL;
    }
    if (parse_u64(f[2], flen[2], &bytes) != 0 || bytes < LH_INJECT_MIN_BYTES ||
        bytes > LH_INJECT_MAX_BYTES) {
        snprintf(err, errcap, "bad inject spec '%s': BYTES must be %u..%u",
                 spec, LH_INJECT_MIN_BYTES, LH_INJECT_MAX_BYTES);
        return LH_EINVAL;
    }
    if (nf == 4 && (parse_u64(f[3], flen[3], &every) != 0 || every == 0)) {
        snprintf(err, errcap, "bad inject spec '%s': EVERY must be >= 1",
                 spec);
        return LH_EINVAL;
    }
    if (inj->spec[stage].kind != LH_INJECT_NONE) {
        snprintf(err, errcap, "bad inject spec '%s': stage '%.*s' already "
                 "has one", spec, (int)flen[0], f[0]);
        return LH_EINVAL;
    }
    if (kind == LH_INJECT_CACHE) {
        inj->cache[stage] = lh_calloc(LH_INJECT_CACHE_CAP, sizeof(void *));
        if (inj->cache[stage] == NULL)
            return LH_ENOMEM;
    }
    inj->spec[stage].kind = kind;
    inj->spec[stage].bytes = (size_t)bytes;
    inj->spec[stage].every = every;
    return 0;
}

void lh_inject_keep(lh_inject *inj, int stage, void *block)
{
    if (block == NULL)
        return;
    lh_inject_spec *s = &inj->spec[stage];
    memset(block, 0xA5, s->bytes);
    inj->blocks++;
    switch (s->kind) {
    case LH_INJECT_LOST:
        /* The pointer dies here: definitely lost. */
        break;
    case LH_INJECT_REACHABLE:
        memcpy(block, &reachable_head, sizeof reachable_head);
        reachable_head = block;
        break;
    case LH_INJECT_CACHE: {
        void **ring = inj->cache[stage];
        size_t slot = (inj->cache_head[stage] + inj->cache_len[stage]) %
                      LH_INJECT_CACHE_CAP;
        if (inj->cache_len[stage] == LH_INJECT_CACHE_CAP) {
            /* Full: the oldest goes, the new one takes its slot. */
            free(ring[inj->cache_head[stage]]);
            slot = inj->cache_head[stage];
            inj->cache_head[stage] = (slot + 1) % LH_INJECT_CACHE_CAP;
        } else {
            inj->cache_len[stage]++;
        }
        ring[slot] = block;
        break;
    }
    default:
        free(block);
        break;
    }
}

void lh_inject_free(lh_inject *inj)
{
    if (inj == NULL)
        return;
    for (int i = 0; i < LH_STAGE_COUNT; i++) {
        if (inj->cache[i] == NULL)
            continue;
        for (size_t k = 0; k < inj->cache_len[i]; k++)
            free(inj->cache[i][(inj->cache_head[i] + k) % LH_INJECT_CACHE_CAP]);
        lh_free(inj->cache[i]);
    }
    lh_free(inj);
}

/*
 * Design: a check is keyed by a 64-bit hash of the sorted (device, inode)
 * pairs of every file mapping of the pids; runs point at checks by index.
 * Reading the maps costs a few hundred lines a process; a check of a real
 * program (its libraries and glibc's detached debug info) costs ~0.3 s of
 * CPU, paid once per distinct set of objects.
 */
#include "abiprobe.h"

#include "alloc.h"
#include "error.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct check {
    uint64_t key;
    lh_abiconflicts c;
} check;

typedef struct run_check {
    size_t run;
    size_t check;
} run_check;

struct lh_abiprobe {
    check *checks;
    size_t nchecks, checks_cap;
    run_check *runs;
    size_t nruns, runs_cap;
};

lh_abiprobe *lh_abiprobe_new(void)
{
    return lh_calloc(1, sizeof(lh_abiprobe));
}

void lh_abiprobe_free(lh_abiprobe *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nchecks; i++)
        lh_abiconflicts_free(&p->checks[i].c);
    lh_free(p->checks);
    lh_free(p->runs);
    lh_free(p);
}

typedef struct object_ids {
    uint64_t *v;
    size_t n, cap;
} object_ids;

/* Adds the (device, inode) of every file mapping of `pid`; a process that
 * is gone adds nothing (the check says so).  0 or LH_ENOMEM. */
static int add_mapped(object_ids *ids, pid_t pid)
{
    char path[64], line[4096];
    snprintf(path, sizeof path, "/proc/%ld/maps", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        unsigned major, minor;
        unsigned long long inode;
        if (sscanf(line, "%*s %*s %*s %x:%x %llu", &major, &minor,
                   &inode) != 3 ||
            inode == 0)
            continue;
        rc = lh_grow((void **)&ids->v, &ids->cap, ids->n + 2, sizeof *ids->v,
                     64);
        if (rc == 0) {
            ids->v[ids->n++] = (uint64_t)major << 32 | minor;
            ids->v[ids->n++] = inode;
        }
    }
    fclose(f);
    return rc;
}

static int cmp_pair(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

/* The key of a set of objects: FNV-1a over the sorted, distinct pairs. */
static uint64_t key_of(object_ids *ids)
{
    size_t pairs = ids->n / 2;
    if (pairs > 1)
        qsort(ids->v, pairs, 2 * sizeof *ids->v, cmp_pair);
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < pairs; i++) {
        if (i > 0 && cmp_pair(&ids->v[2 * i], &ids->v[2 * i - 2]) == 0)
            continue;
        for (int k = 0; k < 2; k++)
            for (int b = 0; b < 64; b += 8) {
                h ^= (ids->v[2 * i + k] >> b) & 0xff;
                h *= 1099511628211ull;
            }
    }
    return h;
}

/* The index of the check for `key`, made now if there is none. */
static int check_for(lh_abiprobe *p, uint64_t key, const pid_t *pids,
                     size_t npids, size_t *at)
{
    for (size_t i = 0; i < p->nchecks; i++)
        if (p->checks[i].key == key) {
            *at = i;
            return 0;
        }
    if (lh_grow((void **)&p->checks, &p->checks_cap, p->nchecks + 1,
                sizeof *p->checks, 4) < 0)
        return LH_ENOMEM;
    long lp[64];
    size_t n = npids < 64 ? npids : 64;
    for (size_t i = 0; i < n; i++)
        lp[i] = (long)pids[i];
    check *c = &p->checks[p->nchecks];
    memset(c, 0, sizeof *c);
    c->key = key;
    if (lh_abiconflicts_check_pids(&c->c, lp, n, NULL, 0) < 0) {
        lh_abiconflicts_free(&c->c);
        return LH_ENOMEM;
    }
    *at = p->nchecks++;
    return 0;
}

int lh_abiprobe_check(lh_abiprobe *p, size_t run, const pid_t *pids,
                      size_t npids)
{
    object_ids ids = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < npids; i++)
        rc = add_mapped(&ids, pids[i]);
    uint64_t key = key_of(&ids);
    lh_free(ids.v);
    size_t at = 0;
    if (rc == 0)
        rc = check_for(p, key, pids, npids, &at);
    if (rc == 0)
        rc = lh_grow((void **)&p->runs, &p->runs_cap, p->nruns + 1,
                     sizeof *p->runs, 8);
    if (rc < 0)
        return LH_ENOMEM;
    p->runs[p->nruns++] = (run_check){run, at};
    return 0;
}

lh_abiconflicts *lh_abiprobe_of(lh_abiprobe *p, size_t run)
{
    for (size_t i = p ? p->nruns : 0; i-- > 0;)
        if (p->runs[i].run == run)
            return &p->checks[p->runs[i].check].c;
    return NULL;
}

size_t lh_abiprobe_checks(const lh_abiprobe *p)
{
    return p ? p->nchecks : 0;
}

/*
 * registry.c - the stages of the pipeline, one line each.
 *
 * Adding a stage: write stage_<name>.c with its lh_stage_ops, add its id to
 * enum lh_stage_id (stage.h, in pipeline order) and its line here.
 */
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

const lh_stage_entry lh_stage_registry[LH_STAGE_COUNT] = {
    [LH_STAGE_FORWARD] = {"forward", "", &lh_stage_forward},
    [LH_STAGE_HASH] = {"hash", "forward", &lh_stage_hash},
    [LH_STAGE_ENQUEUE] = {"enqueue", "forward", &lh_stage_enqueue},
    [LH_STAGE_VERIFY] = {"verify", "forward", &lh_stage_verify},
    [LH_STAGE_RPC] = {"rpc", "forward,verify", &lh_stage_rpc},
};

int lh_stage_lookup(const char *name, size_t len)
{
    for (int i = 0; i < LH_STAGE_COUNT; i++)
        if (strlen(lh_stage_registry[i].name) == len &&
            memcmp(lh_stage_registry[i].name, name, len) == 0)
            return i;
    return LH_ENOTFOUND;
}

/* Turns a comma list of stage names into a mask; stops at the first unknown. */
static int names_to_mask(const char *list, unsigned *mask, char *err,
                         size_t errcap)
{
    unsigned m = 0;
    const char *p = list;

    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len > 0) {
            int id = lh_stage_lookup(p, len);
            if (id < 0) {
                snprintf(err, errcap, "unknown stage '%.*s' (stages: "
                         "forward,hash,enqueue,verify,rpc)", (int)len, p);
                return LH_ENOTFOUND;
            }
            m |= LH_STAGE_BIT(id);
        }
        p += len;
        if (*p == ',')
            p++;
    }
    *mask = m;
    return 0;
}

int lh_stages_parse(const char *list, unsigned *mask, char *err,
                    size_t errcap)
{
    unsigned m = 0;
    char dummy[8];

    if (err == NULL || errcap == 0) {
        err = dummy;
        errcap = sizeof dummy;
    }
    err[0] = '\0';
    int rc = names_to_mask(list, &m, err, errcap);
    if (rc != 0)
        return rc;
    for (int i = 0; i < LH_STAGE_COUNT; i++) {
        unsigned req = 0;
        if (!(m & LH_STAGE_BIT(i)))
            continue;
        rc = names_to_mask(lh_stage_registry[i].requires, &req, err, errcap);
        if (rc != 0)
            return LH_EINVAL;
        if ((m & req) != req) {
            snprintf(err, errcap, "stage '%s' requires '%s'",
                     lh_stage_registry[i].name, lh_stage_registry[i].requires);
            return LH_EINVAL;
        }
    }
    *mask = m;
    return 0;
}

int lh_stages_select(const char *arg, unsigned *mask, char *err,
                     size_t errcap)
{
    if (arg == NULL)
        arg = getenv("LEAKHUNT_STAGES");
    if (arg == NULL) {
        *mask = LH_STAGES_ALL;
        return 0;
    }
    return lh_stages_parse(arg, mask, err, errcap);
}

void lh_stages_format(unsigned mask, char *buf, size_t cap)
{
    size_t len = 0;

    if (cap == 0)
        return;
    buf[0] = '\0';
    for (int i = 0; i < LH_STAGE_COUNT; i++) {
        if (!(mask & LH_STAGE_BIT(i)))
            continue;
        int n = snprintf(buf + len, cap - len, "%s%s", len ? "," : "",
                         lh_stage_registry[i].name);
        if (n < 0 || (size_t)n >= cap - len)
            return;
        len += (size_t)n;
    }
}

/*
 * registry.c - the stages of the pipeline as a table, generated from the
 * list in include/stage_list.h (which says how to add a stage), and the
 * parsing of stage lists.
 */
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* Stage ids by name, for the requirement items R(name, needed). */
#define ID_BY_NAME(ID, name, req) id_of_##name = LH_STAGE_##ID,
enum { LH_STAGE_LIST(ID_BY_NAME, LH_STAGE_NO_REQ) };

/* One line of the table: its requirements are the bits ORed onto 0. */
#define ENTRY(ID, name, req)                                                   \
    [LH_STAGE_##ID] = {#name, 0u req, &lh_stage_##name},
#define REQ_BIT(name, needed) | LH_STAGE_BIT(id_of_##needed)

const lh_stage_entry lh_stage_registry[LH_STAGE_COUNT] = {
    LH_STAGE_LIST(ENTRY, REQ_BIT)
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
                snprintf(err, errcap, "unknown stage '%.*s' (stages: %s)",
                         (int)len, p, LH_STAGE_NAMES);
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

unsigned lh_stage_needs(int id)
{
    unsigned need = lh_stage_registry[id].requires, before;

    do {
        before = need;
        for (int i = 0; i < LH_STAGE_COUNT; i++)
            if (need & LH_STAGE_BIT(i))
                need |= lh_stage_registry[i].requires;
    } while (need != before);
    return need;
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
        unsigned need = lh_stage_needs(i);
        if ((m & LH_STAGE_BIT(i)) && (m & need) != need) {
            char names[256];
            lh_stages_format(need, names, sizeof names);
            snprintf(err, errcap, "stage '%s' requires '%s'",
                     lh_stage_registry[i].name, names);
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

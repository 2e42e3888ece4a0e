/*
 * abiconflicts.c - the ABI conflicts of running processes (abiconflicts.h):
 * the checker's --pid path, its conflicts gathered into a list.
 */
#include "abiconflicts.h"

#include "alloc.h"
#include "error.h"

#include <stdio.h>
#include <string.h>

/* The conflicts of the checker, in its order. */
static int collect(lh_abiconflicts *c)
{
    size_t i, n = lh_abicheck_type_count(c->checker);

    c->items = lh_calloc(n ? n : 1, sizeof *c->items);
    if (!c->items)
        return LH_ENOMEM;
    for (i = 0; i < n; i++) {
        const lh_abi_type *t = lh_abicheck_type(c->checker, i);

        if (t->verdict == LH_ABI_INSIDE || t->verdict == LH_ABI_ACROSS)
            c->items[c->count++].type = t;
    }
    return 0;
}

int lh_abiconflicts_check_pids(lh_abiconflicts *out, const long *pids,
                               size_t npids, const char *const *debug_dirs,
                               size_t ndebug_dirs)
{
    size_t i;
    int rc;

    memset(out, 0, sizeof *out);
    rc = lh_abicheck_new(&out->checker);
    for (i = 0; !rc && i < ndebug_dirs; i++) {
        rc = lh_abicheck_add_debug_dir(out->checker, debug_dirs[i]);
        if (rc != LH_ENOMEM)
            rc = 0; /* a bad directory only finds nothing */
    }
    for (i = 0; !rc && i < npids; i++) {
        rc = lh_abicheck_add_pid(out->checker, pids[i]);
        if (rc != LH_ENOMEM)
            rc = 0; /* recorded in the checker; status 2 */
    }
    if (!rc)
        rc = collect(out);
    out->status = rc ? 2 : lh_abicheck_status(out->checker);
    return rc;
}

size_t lh_abiconflicts_mark(lh_abiconflicts *c, const char *const *files,
                            size_t nfiles)
{
    size_t i, n;

    if (!c->checker)
        return 0;
    n = lh_abicheck_mark_files(c->checker, files, nfiles);
    for (i = 0; i < c->count; i++)
        c->items[i].marked = c->items[i].type->marked;
    return n;
}

void lh_abiconflicts_write_json(const lh_abiconflicts *c, lh_json *j)
{
    if (!c->checker) {
        lh_json_begin_array(j);
        lh_json_end_array(j);
        return;
    }
    lh_abicheck_json_conflicts(c->checker, j);
}

/* The file name of a path. */
static const char *base(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

size_t lh_abiconflicts_describe(const lh_abiconflicts *c, size_t i, char *buf,
                                size_t len)
{
    const lh_abi_type *t;
    size_t k, need = 0;
    int n;

    if (i >= c->count)
        return 0;
    t = c->items[i].type;
#define ADD(...)                                                               \
    do {                                                                       \
        n = snprintf(need < len ? buf + need : NULL,                           \
                     need < len ? len - need : 0, __VA_ARGS__);                \
        need += n > 0 ? (size_t)n : 0;                                         \
    } while (0)
    ADD("%s %s (header %s):", t->layouts[0].kind, t->name, t->header);
    for (k = 0; k < t->nlayouts; k++)
        ADD("%s %llu bytes in %s", k ? "," : "",
            (unsigned long long)t->layouts[k].size,
            t->layouts[k].nobjects
                ? base(lh_abicheck_file(c->checker,
                                        t->layouts[k].objects[0])->path)
                : "?");
    if (t->verdict == LH_ABI_ACROSS && t->via)
        ADD(", exchanged through %s", t->via);
    else
        ADD(", inside one object");
#undef ADD
    return need;
}

void lh_abiconflicts_free(lh_abiconflicts *c)
{
    lh_free(c->items);
    lh_abicheck_free(c->checker);
    memset(c, 0, sizeof *c);
}

#include "result.h"

#include "alloc.h"
#include "error.h"

#include <stdlib.h>

const char *lh_run_verdict_name(lh_run_verdict v)
{
    switch (v) {
    case LH_RUN_CLEAN:
        return "clean";
    case LH_RUN_LEAK:
        return "leak";
    case LH_RUN_INCONCLUSIVE:
        return "inconclusive";
    default:
        return "error";
    }
}

void lh_run_result_free(lh_run_result *r)
{
    if (r == NULL)
        return;
    lh_series_free(&r->series);
    lh_series_free(&r->tool_series);
    lh_free(r->sites);
    r->sites = NULL;
    r->nsites = 0;
}

int lh_run_result_add_site(lh_run_result *r, const lh_site *s)
{
    lh_site *v = lh_realloc(r->sites, (r->nsites + 1) * sizeof *v);
    if (v == NULL)
        return LH_ENOMEM;
    v[r->nsites++] = *s;
    r->sites = v;
    return 0;
}

static int by_rate_desc(const void *a, const void *b)
{
    double x = ((const lh_site *)a)->bytes_per_unit;
    double y = ((const lh_site *)b)->bytes_per_unit;
    return (x < y) - (x > y);
}

void lh_run_result_sort_sites(lh_run_result *r)
{
    if (r->nsites > 1)
        qsort(r->sites, r->nsites, sizeof *r->sites, by_rate_desc);
}

#include "tool.h"

#include "alloc.h"
#include "error.h"

#include <stdio.h>
#include <string.h>

/* rss: sampling only; everything it needs the runner does already. */
const lh_tool lh_tool_rss = {
    .name = "rss",
    .early_looks = 1,
};

static const lh_tool *const tools[] = {&lh_tool_rss, &lh_tool_heap,
                                       &lh_tool_memcheck};

const lh_tool *lh_tool_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof tools / sizeof tools[0]; i++)
        if (strcmp(tools[i]->name, name) == 0)
            return tools[i];
    return NULL;
}

const lh_tool *lh_tool_at(size_t i)
{
    return i < sizeof tools / sizeof tools[0] ? tools[i] : NULL;
}

const lh_tool *lh_tool_of(const lh_run_result *r)
{
    return lh_tool_find(r->tool);
}

int lh_tool_signal(const lh_tool *t, lh_tool_ctx *c, double warmup,
                   lh_series *out)
{
    if (t->signal)
        return t->signal(c, warmup, out);
    out->n = 0;
    c->note[0] = '\0';
    for (size_t i = 0; i < c->series.n; i++) {
        int rc = lh_series_push(out, &c->series.v[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

const lh_tool *lh_tool_for(lh_tool_role role)
{
    switch (role) {
    case LH_TOOL_FOR_SITES:
        return &lh_tool_heap;
    case LH_TOOL_FOR_KIND:
        return &lh_tool_memcheck;
    case LH_TOOL_FOR_SEARCH:
    default:
        return &lh_tool_rss;
    }
}

int lh_tool_setenv(lh_tool_ctx *c, const char *name, const char *value)
{
    if (c->nenv == LH_TOOL_MAX_ENV)
        return LH_EFULL;
    size_t len = strlen(name) + strlen(value) + 2;
    char *e = lh_malloc(len);
    if (e == NULL)
        return LH_ENOMEM;
    snprintf(e, len, "%s=%s", name, value);
    c->env[c->nenv++] = e;
    c->env[c->nenv] = NULL;
    return 0;
}

/*
 * abicheck_util.c - strings, paths, messages and the hash index the parts
 * of abi-check share (abicheck_int.h).
 */
#include "abicheck_int.h"

#include "alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

uint64_t abi_fnv1a(const char *s, uint64_t h)
{
    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 1099511628211ULL;
    }
    return h;
}

int abi_buf_puts(lh_buf *b, const char *s)
{
    return lh_buf_append(b, s, strlen(s));
}

int abi_buf_printf(lh_buf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return LH_EINVAL;
    if ((size_t)n >= sizeof tmp)
        n = (int)sizeof tmp - 1;
    return lh_buf_append(b, tmp, (size_t)n);
}

/* A NUL-terminated copy of the buffer's bytes, or NULL. */
char *abi_buf_strdup(const lh_buf *b)
{
    if (lh_buf_len(b) == 0)
        return lh_strdup(""); /* lh_buf_peek: no storage before an append */
    return lh_strndup((const char *)lh_buf_peek(b), lh_buf_len(b));
}

void abi_free_strings(char **v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        lh_free(v[i]);
    lh_free(v);
}

void abi_push_msg(char ***list, size_t *n, size_t *cap, const char *msg)
{
    if (lh_grow((void **)list, cap, *n + 1, sizeof **list, 8) != 0)
        return;
    (*list)[*n] = lh_strdup(msg);
    if ((*list)[*n])
        (*n)++;
}

/* Drops the last component of out[0..*o) for a "..", as far as `floor`;
 * returns 0 when the ".." must be kept (nothing to drop, or a ".."). */
static int drop_last(char *out, size_t *o, size_t floor)
{
    size_t back = *o;

    while (back > floor && out[back - 1] != '/')
        back--;
    if (*o == floor ||
        (*o - back == 2 && out[back] == '.' && out[back + 1] == '.'))
        return 0;
    *o = back > floor ? back - 1 : floor;
    return 1;
}

/* Normalises `in` into `out` (room for strlen(in) + 2). */
static void norm_into(const char *in, char *out)
{
    size_t i = 0, o = 0, floor;
    int absolute = in[0] == '/';

    if (absolute)
        out[o++] = '/';
    floor = o;
    while (in[i]) {
        size_t start, len;

        while (in[i] == '/')
            i++;
        start = i;
        while (in[i] && in[i] != '/')
            i++;
        len = i - start;
        if (len == 0 || (len == 1 && in[start] == '.'))
            continue;
        if (len == 2 && in[start] == '.' && in[start + 1] == '.') {
            if (drop_last(out, &o, floor))
                continue;
            if (absolute && o == floor)
                continue; /* "/.." is "/" */
        }
        if (o > floor)
            out[o++] = '/';
        memcpy(out + o, in + start, len);
        o += len;
    }
    if (o == 0)
        out[o++] = '.';
    out[o] = '\0';
}

/*
 * Joins dir and name (name wins when absolute; dir may be NULL) and
 * removes "." and empty components and resolves ".." lexically.  Returns a
 * new string or NULL.
 */
char *abi_path_norm(const char *dir, const char *name)
{
    size_t dl = (dir && name[0] != '/') ? strlen(dir) : 0;
    size_t nl = strlen(name);
    char *in, *out;

    in = lh_malloc(dl + nl + 2);
    if (!in)
        return NULL;
    if (dl) {
        memcpy(in, dir, dl);
        in[dl] = '/';
        memcpy(in + dl + 1, name, nl + 1);
    } else {
        memcpy(in, name, nl + 1);
    }
    out = lh_malloc(strlen(in) + 2);
    if (out)
        norm_into(in, out);
    lh_free(in);
    return out;
}

/* Does the path name a C or C++ source file (not a header)? */
int abi_is_source_file(const char *path)
{
    static const char *const exts[] = {".c", ".cc", ".cpp", ".cxx", ".C"};
    const char *dot = strrchr(path, '.');
    size_t i;

    if (!dot || strchr(dot, '/'))
        return 0;
    for (i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (strcmp(dot, exts[i]) == 0)
            return 1;
    return 0;
}

const char *abi_base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

/* ------------------------------------------------------------ hash index */

int abi_index_reserve(abi_index *x, uint64_t (*hash_of)(size_t, const void *),
                      const void *ctx)
{
    size_t nslots, *slots, i, s;

    if ((x->count + 1) * 2 <= x->nslots)
        return 0;
    nslots = x->nslots ? x->nslots * 2 : 64;
    slots = lh_calloc(nslots, sizeof *slots);
    if (!slots)
        return LH_ENOMEM;
    for (i = 0; i < x->nslots; i++) {
        if (!x->slots[i])
            continue;
        s = (size_t)hash_of(x->slots[i] - 1, ctx) & (nslots - 1);
        while (slots[s])
            s = (s + 1) & (nslots - 1);
        slots[s] = x->slots[i];
    }
    lh_free(x->slots);
    x->slots = slots;
    x->nslots = nslots;
    return 0;
}

void abi_index_put(abi_index *x, uint64_t h, size_t item)
{
    size_t s = abi_index_first(x, h);

    while (x->slots[s])
        s = abi_index_next(x, s);
    x->slots[s] = item + 1;
    x->count++;
}

void abi_index_free(abi_index *x)
{
    lh_free(x->slots);
    memset(x, 0, sizeof *x);
}

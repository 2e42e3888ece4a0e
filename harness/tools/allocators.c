#include "allocators.h"

#include <string.h>

/* fn is `name`, or a compiler clone of it ("xmalloc.constprop.0",
 * "lh_malloc.part.0", "f.cold"). */
static int same_fn(const char *fn, const char *name)
{
    size_t n = strlen(name);
    return strncmp(fn, name, n) == 0 && (fn[n] == '\0' || fn[n] == '.');
}

int lh_allocator_fn(const char *fn, const char *const *extra)
{
    static const char *const exact[] = {
        "malloc",         "calloc",          "realloc",       "free",
        "memalign",       "posix_memalign",  "aligned_alloc", "valloc",
        "pvalloc",        "reallocarray",    "strdup",        "strndup",
        "__strdup",       "__strndup",       "__libc_malloc", "__libc_calloc",
        "__libc_realloc", "__libc_memalign", "__libc_valloc", "__libc_pvalloc",
        "lh_malloc",      "lh_calloc",       "lh_realloc",    "lh_strdup",
        "lh_strndup",
    };
    static const char *const prefix[] = {
        "tc_",          "_Znw",            "_Zna",      "_ZN8tcmalloc",
        "operator new", "operator delete", "tcmalloc::"};

    if (fn == NULL)
        return 0;
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        if (same_fn(fn, exact[i]))
            return 1;
    for (size_t i = 0; i < sizeof prefix / sizeof prefix[0]; i++)
        if (strncmp(fn, prefix[i], strlen(prefix[i])) == 0)
            return 1;
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
        if (same_fn(fn, extra[i]))
            return 1;
    return 0;
}

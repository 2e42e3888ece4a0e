/*
 * Design: every figure comes from one small read of a /proc file into a
 * stack buffer, with no allocation, so sampling does not disturb the heap
 * it measures and works when memory is short.  A missing /proc/PID entry
 * (ENOENT, or ESRCH when the process dies between open and read) is
 * LH_ENOTFOUND; any other failure to read is LH_EIO.
 *
 * The live heap comes from the allocator in use.  tcmalloc exports
 * MallocExtension_GetNumericProperty as a C symbol; looking it up with
 * dlsym(RTLD_DEFAULT) finds it when tcmalloc is linked or preloaded, with
 * no link dependency on it.  A process built with a sanitizer (ASan and
 * the others with an allocator of their own) counts its heap with
 * __sanitizer_get_current_allocated_bytes, found the same way; its RSS
 * grows with the quarantine of freed blocks whatever the program does.
 * Otherwise glibc's mallinfo2 gives bytes in use
 * in the arenas (uordblks) plus mmapped chunks (hblkhd).  When glibc
 * reports no heap at all, another allocator (valgrind's, for instance) has
 * replaced it and its counters mean nothing: LH_EUNSUPPORTED.
 */
#include "memsample.h"

#include "error.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef int (*numeric_property_fn)(const char *name, size_t *value);

/* Reads /proc/PID/<name> into buf (NUL-terminated, possibly cut short at
 * cap - 1 bytes).  0 or LH_ENOTFOUND / LH_EIO. */
static int read_proc(pid_t pid, const char *name, char *buf, size_t cap)
{
    char path[64];
    if (pid < 0)
        return LH_ENOTFOUND;
    if (pid == 0)
        snprintf(path, sizeof path, "/proc/self/%s", name);
    else
        snprintf(path, sizeof path, "/proc/%ld/%s", (long)pid, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ESRCH ? LH_ENOTFOUND : LH_EIO;
    int err = 0;
    size_t len = 0;
    while (len < cap - 1) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = errno == ESRCH ? LH_ENOTFOUND : LH_EIO;
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
out:
    close(fd);
    return err;
}

/* Reads a decimal number at *p, advancing p.  0 or LH_EPARSE. */
static int read_number(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (*s < '0' || *s > '9')
        return LH_EPARSE;
    while (*s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return LH_EPARSE;
        v = v * 10 + d;
        s++;
    }
    *p = s;
    *out = v;
    return 0;
}

int lh_mem_rss(pid_t pid, uint64_t *bytes)
{
    char buf[256];
    int err = read_proc(pid, "statm", buf, sizeof buf);
    if (err)
        return err;
    /* "size resident shared text lib data dt", in pages. */
    const char *p = buf;
    uint64_t size = 0, resident = 0;
    if (read_number(&p, &size) || *p++ != ' ' || read_number(&p, &resident))
        return LH_EPARSE;
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || resident > UINT64_MAX / (uint64_t)page)
        return LH_EPARSE;
    *bytes = resident * (uint64_t)page;
    return 0;
}

/* Where each smaps_rollup key we keep goes. */
static uint64_t *rollup_field(lh_mem_rollup *r, const char *key, size_t len)
{
    static const struct {
        const char *key;
        size_t offset;
    } fields[] = {
        {"Rss", offsetof(lh_mem_rollup, rss)},
        {"Pss", offsetof(lh_mem_rollup, pss)},
        {"Anonymous", offsetof(lh_mem_rollup, anonymous)},
        {"Private_Dirty", offsetof(lh_mem_rollup, private_dirty)},
        {"Swap", offsetof(lh_mem_rollup, swap)},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (strlen(fields[i].key) == len &&
            memcmp(fields[i].key, key, len) == 0)
            return (uint64_t *)(void *)((char *)r + fields[i].offset);
    }
    return NULL;
}

int lh_mem_rollup_parse(const char *text, lh_mem_rollup *out)
{
    lh_mem_rollup r;
    memset(&r, 0, sizeof r);
    int have_rss = 0;
    const char *line = text;
    while (*line != '\0') {
        const char *nl = strchr(line, '\n');
        const char *end = nl ? nl : line + strlen(line);
        const char *colon = memchr(line, ':', (size_t)(end - line));
        uint64_t *field =
            colon ? rollup_field(&r, line, (size_t)(colon - line)) : NULL;
        if (field != NULL) {
            /* "Key:   <n> kB" */
            const char *p = colon + 1;
            uint64_t kb = 0;
            while (*p == ' ' || *p == '\t')
                p++;
            if (read_number(&p, &kb) || strncmp(p, " kB", 3) != 0 ||
                p + 3 != end || kb > UINT64_MAX / 1024)
                return LH_EPARSE;
            *field = kb * 1024;
            if (field == &r.rss)
                have_rss = 1;
        }
        line = nl ? nl + 1 : end;
    }
    if (!have_rss)
        return LH_EPARSE;
    *out = r;
    return 0;
}

int lh_mem_rollup_read(pid_t pid, lh_mem_rollup *out)
{
    char buf[4096];
    int err = read_proc(pid, "smaps_rollup", buf, sizeof buf);
    if (err)
        return err;
    return lh_mem_rollup_parse(buf, out);
}

typedef size_t (*sanitizer_bytes_fn)(void);

static numeric_property_fn tcmalloc_fn;
static sanitizer_bytes_fn sanitizer_fn;
static pthread_once_t tcmalloc_once = PTHREAD_ONCE_INIT;

static void find_tcmalloc(void)
{
    void *sym = dlsym(RTLD_DEFAULT, "MallocExtension_GetNumericProperty");
    /* ISO C has no cast from object to function pointer; copy the bits. */
    if (sym != NULL)
        memcpy(&tcmalloc_fn, &sym, sizeof tcmalloc_fn);
    sym = dlsym(RTLD_DEFAULT, "__sanitizer_get_current_allocated_bytes");
    if (sym != NULL)
        memcpy(&sanitizer_fn, &sym, sizeof sanitizer_fn);
}

/* Looked up once: a failed dlsym allocates its error message, which would
 * disturb the heap on every sample, and the allocator of a process does not
 * change once it runs. */
static numeric_property_fn tcmalloc_property(void)
{
    pthread_once(&tcmalloc_once, find_tcmalloc);
    return tcmalloc_fn;
}

int lh_mem_tcmalloc_loaded(void)
{
    return tcmalloc_property() != NULL;
}

int lh_mem_heap_live(uint64_t *bytes)
{
    numeric_property_fn fn = tcmalloc_property();
    if (sanitizer_fn != NULL) {
        *bytes = sanitizer_fn();
        return 0;
    }
    if (fn != NULL) {
        size_t value = 0;
        if (!fn("generic.current_allocated_bytes", &value))
            return LH_EUNSUPPORTED;
        *bytes = value;
        return 0;
    }
    struct mallinfo2 mi = mallinfo2();
    if (mi.arena == 0 && mi.hblkhd == 0 && mi.uordblks == 0)
        return LH_EUNSUPPORTED;
    *bytes = (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;
    return 0;
}

/*
 * counters.c - counters files of the selfheal roles.
 *
 * Design: one table (LH_COUNTER_MAP) so every role and `up` agree on the
 * names; text files so a person can `cat` them during a run; atomic
 * replacement (tmp + rename) so the reader never sees half a file.  The
 * writer formats into a stack buffer and issues one write(2).
 */
#include "counters.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"
#include "memsample.h"

static const char *const names[LH_C_COUNT] = {
#define LH_COUNTER_NAME_(name) #name,
    LH_COUNTER_MAP(LH_COUNTER_NAME_)
#undef LH_COUNTER_NAME_
};

const char *lh_counter_name(int id)
{
    if (id < 0 || id >= LH_C_COUNT)
        return NULL;
    return names[id];
}

int lh_counter_id(const char *name)
{
    for (int i = 0; i < LH_C_COUNT; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return LH_ENOTFOUND;
}

int lh_counters_write(const lh_counters *c, const char *role, const char *path)
{
    char buf[64 * LH_C_COUNT + 128];
    char tmp[4096];
    size_t len = 0;
    int fd = -1;
    int rc = 0;

    if (c == NULL || role == NULL || path == NULL || strchr(role, '\n'))
        return LH_EINVAL;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return LH_EINVAL;
    len += (size_t)snprintf(buf + len, sizeof buf - len, "role %s\npid %ld\n",
                            role, (long)getpid());
    struct rusage ru;
    uint64_t cpu_user = 0, cpu_sys = 0;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        cpu_user = (uint64_t)ru.ru_utime.tv_sec * 1000 +
                   (uint64_t)ru.ru_utime.tv_usec / 1000;
        cpu_sys = (uint64_t)ru.ru_stime.tv_sec * 1000 +
                  (uint64_t)ru.ru_stime.tv_usec / 1000;
    }
    uint64_t heap = c->v[LH_C_heap_live];
    if (lh_mem_heap_live(&heap) != 0)
        heap = c->v[LH_C_heap_live];
    for (int i = 0; i < LH_C_COUNT && len < sizeof buf; i++) {
        uint64_t v = i == LH_C_cpu_user_ms ? cpu_user
                     : i == LH_C_cpu_sys_ms ? cpu_sys
                     : i == LH_C_heap_live  ? heap
                                            : c->v[i];
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s %" PRIu64 "\n",
                                names[i], v);
    }
    if (len >= sizeof buf)
        return LH_EINVAL;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return LH_ESYS;
    ssize_t n = write(fd, buf, len);
    if (n < 0 || (size_t)n != len) {
        rc = LH_ESYS;
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = LH_ESYS;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        rc = LH_ESYS;
out:
    if (fd >= 0)
        close(fd);
    if (rc != 0) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
    }
    return rc;
}

int lh_counters_read(const char *path, lh_counters *out, char *role,
                     size_t rolecap)
{
    lh_counters tmp;
    char line[256];
    int rc = 0;
    FILE *f = fopen(path, "re");

    if (f == NULL)
        return errno == ENOENT ? LH_ENOTFOUND : LH_ESYS;
    memset(&tmp, 0, sizeof tmp);
    if (role != NULL && rolecap > 0)
        role[0] = '\0';
    while (fgets(line, sizeof line, f) != NULL) {
        char *sp = strchr(line, ' ');
        char *nl = strchr(line, '\n');
        if (sp == NULL || nl == NULL) {
            rc = LH_EPARSE;
            goto out;
        }
        *sp = '\0';
        *nl = '\0';
        const char *val = sp + 1;
        if (strcmp(line, "role") == 0) {
            if (role != NULL && rolecap > 0)
                snprintf(role, rolecap, "%s", val);
            continue;
        }
        if (strcmp(line, "pid") == 0)
            continue;
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(val, &end, 10);
        if (errno != 0 || end == val || *end != '\0') {
            rc = LH_EPARSE;
            goto out;
        }
        int id = lh_counter_id(line);
        if (id >= 0)
            tmp.v[id] = (uint64_t)v;
    }
    *out = tmp;
out:
    fclose(f);
    return rc;
}

void lh_counters_add(lh_counters *sum, const lh_counters *c)
{
    for (int i = 0; i < LH_C_COUNT; i++)
        sum->v[i] += c->v[i];
    sum->v[LH_C_stages_mask] -= c->v[LH_C_stages_mask];
    if (c->v[LH_C_stages_mask] != 0)
        sum->v[LH_C_stages_mask] = c->v[LH_C_stages_mask];
}

int lh_counter_is_gauge(int id)
{
    switch (id) {
    case LH_C_assigned:
    case LH_C_outstanding:
    case LH_C_store_keys:
    case LH_C_store_keys_wrong:
    case LH_C_unhealed:
    case LH_C_heap_live:
    case LH_C_stages_mask:
        return 1;
    default:
        return 0;
    }
}

int lh_counters_tick(const lh_counters *c, const char *role, const char *path,
                     int64_t *last_us, int force)
{
    if (path == NULL)
        return 0;
    int64_t now = lh_now_us();
    if (!force && now - *last_us < 100000)
        return 0;
    *last_us = now;
    return lh_counters_write(c, role, path);
}

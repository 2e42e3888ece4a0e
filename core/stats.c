/*
 * Design: the parser walks the line once, field by field, with no
 * allocation and no library number parsing (strtoull accepts signs, spaces
 * and hex prefixes, all of which the protocol forbids).  Each field is
 * key=value; the key decides how the value is read.  Numbers are plain
 * decimal digits, accumulated with an overflow check against 2^63-1 so that
 * every accepted value fits an int64_t as well.  Leading zeros are decimal
 * and accepted; the formatter never writes them.  The result is built in a
 * local and copied out only on success, so *out is untouched on error.
 *
 * The formatter refuses what the parser would refuse (a bad role, a value
 * over 2^63-1, a negative pid), so every line it writes parses back to the
 * same fields.
 *
 * The writer formats into a stack buffer and emits the line with a single
 * write(2) on an O_APPEND descriptor.  Appends to a regular file are
 * serialised by the kernel, so lines from several processes never
 * interleave.  A short write is reported as LH_EIO rather than completed
 * with a second write, which could land after another process's line.
 */
#include "stats.h"

#include "alloc.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VALUE_MAX ((uint64_t)INT64_MAX)

struct lh_stats_writer {
    int fd;
};

enum key { KEY_WORK, KEY_QUEUE, KEY_HEAP, KEY_PID, KEY_ROLE, KEY_COUNT };

static const char *const key_names[KEY_COUNT] = {"work", "queue", "heap",
                                                  "pid", "role"};

static int role_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static int role_valid(const char *s, size_t len)
{
    if (len == 0 || len >= LH_STATS_ROLE_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!role_char(s[i]))
            return 0;
    }
    return 1;
}

static int parse_number(const char *s, size_t len, uint64_t *out)
{
    if (len == 0)
        return LH_EPARSE;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return LH_EPARSE;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (VALUE_MAX - d) / 10)
            return LH_EPARSE;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int find_key(const char *s, size_t len)
{
    for (int k = 0; k < KEY_COUNT; k++) {
        if (strlen(key_names[k]) == len && memcmp(s, key_names[k], len) == 0)
            return k;
    }
    return -1;
}

/* Parses one key=value field into line; seen tracks repeated keys. */
static int parse_field(const char *f, size_t len, int first, unsigned *seen,
                       lh_stats_line *line)
{
    const char *eq = memchr(f, '=', len);
    if (eq == NULL)
        return LH_EPARSE;
    int key = find_key(f, (size_t)(eq - f));
    if (key < 0 || (*seen & (1u << key)) || (first != (key == KEY_WORK)))
        return LH_EPARSE;
    *seen |= 1u << key;
    const char *val = eq + 1;
    size_t vlen = len - (size_t)(val - f);
    uint64_t n = 0;
    switch (key) {
    case KEY_ROLE:
        if (!role_valid(val, vlen))
            return LH_EPARSE;
        memcpy(line->role, val, vlen);
        line->role[vlen] = '\0';
        line->has |= LH_STATS_HAS_ROLE;
        return 0;
    case KEY_WORK:
        if (parse_number(val, vlen, &n))
            return LH_EPARSE;
        line->work = n;
        return 0;
    case KEY_QUEUE:
        if (parse_number(val, vlen, &n))
            return LH_EPARSE;
        line->queue = n;
        line->has |= LH_STATS_HAS_QUEUE;
        return 0;
    case KEY_HEAP:
        if (parse_number(val, vlen, &n))
            return LH_EPARSE;
        line->heap = n;
        line->has |= LH_STATS_HAS_HEAP;
        return 0;
    default: /* KEY_PID */
        if (parse_number(val, vlen, &n))
            return LH_EPARSE;
        line->pid = (int64_t)n;
        line->has |= LH_STATS_HAS_PID;
        return 0;
    }
}

int lh_stats_parse(const char *text, size_t len, lh_stats_line *out)
{
    if (len > 0 && text[len - 1] == '\n')
        len--;
    if (len == 0)
        return LH_EPARSE;
    lh_stats_line line;
    memset(&line, 0, sizeof line);
    unsigned seen = 0;
    size_t pos = 0;
    for (;;) {
        const char *sp = memchr(text + pos, ' ', len - pos);
        size_t end = sp ? (size_t)(sp - text) : len;
        /* An empty field means a leading, trailing or doubled space. */
        if (end == pos)
            return LH_EPARSE;
        int err = parse_field(text + pos, end - pos, pos == 0, &seen, &line);
        if (err)
            return err;
        if (sp == NULL)
            break;
        pos = end + 1;
        if (pos == len)
            return LH_EPARSE; /* trailing space */
    }
    *out = line;
    return 0;
}

/* Appends printf output at *pos; LH_ETRUNC when it does not fit. */
static int emit(char *buf, size_t cap, size_t *pos, const char *key,
                uint64_t v)
{
    int n = snprintf(buf + *pos, cap - *pos, "%s%s=%llu", *pos ? " " : "",
                     key, (unsigned long long)v);
    if (n < 0 || (size_t)n >= cap - *pos)
        return LH_ETRUNC;
    *pos += (size_t)n;
    return 0;
}

int lh_stats_format(const lh_stats_line *line, char *buf, size_t cap)
{
    if (line->work > VALUE_MAX ||
        ((line->has & LH_STATS_HAS_QUEUE) && line->queue > VALUE_MAX) ||
        ((line->has & LH_STATS_HAS_HEAP) && line->heap > VALUE_MAX) ||
        ((line->has & LH_STATS_HAS_PID) && line->pid < 0))
        return LH_EINVAL;
    if ((line->has & LH_STATS_HAS_ROLE) &&
        !role_valid(line->role, strnlen(line->role, LH_STATS_ROLE_MAX)))
        return LH_EINVAL;
    if (cap == 0)
        return LH_ETRUNC;
    size_t pos = 0;
    int err = emit(buf, cap, &pos, "work", line->work);
    if (err == 0 && (line->has & LH_STATS_HAS_QUEUE))
        err = emit(buf, cap, &pos, "queue", line->queue);
    if (err == 0 && (line->has & LH_STATS_HAS_HEAP))
        err = emit(buf, cap, &pos, "heap", line->heap);
    if (err == 0 && (line->has & LH_STATS_HAS_PID))
        err = emit(buf, cap, &pos, "pid", (uint64_t)line->pid);
    if (err == 0 && (line->has & LH_STATS_HAS_ROLE)) {
        size_t rlen = strlen(line->role);
        if (cap - pos <= rlen + 6)
            err = LH_ETRUNC;
        else {
            memcpy(buf + pos, " role=", 6);
            memcpy(buf + pos + 6, line->role, rlen);
            pos += 6 + rlen;
        }
    }
    if (err == 0 && cap - pos < 2)
        err = LH_ETRUNC;
    if (err) {
        buf[0] = '\0';
        return err;
    }
    buf[pos++] = '\n';
    buf[pos] = '\0';
    return (int)pos;
}

int lh_stats_writer_open(const char *path, lh_stats_writer **out)
{
    lh_stats_writer *w = lh_malloc(sizeof *w);
    if (w == NULL)
        return LH_ENOMEM;
    w->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        int saved = errno;
        lh_free(w);
        errno = saved;
        return LH_ESYS;
    }
    *out = w;
    return 0;
}

int lh_stats_writer_from_env(lh_stats_writer **out)
{
    const char *path = getenv("LEAKHUNT_STATS");
    if (path == NULL || path[0] == '\0') {
        *out = NULL;
        return 0;
    }
    return lh_stats_writer_open(path, out);
}

int lh_stats_writer_put(lh_stats_writer *w, const lh_stats_line *line)
{
    char buf[LH_STATS_LINE_MAX];
    int n = lh_stats_format(line, buf, sizeof buf);
    if (n < 0)
        return LH_EINVAL;
    ssize_t done;
    do {
        done = write(w->fd, buf, (size_t)n);
    } while (done < 0 && errno == EINTR);
    if (done != n)
        return LH_EIO;
    return 0;
}

void lh_stats_writer_close(lh_stats_writer *w)
{
    if (w == NULL)
        return;
    close(w->fd);
    lh_free(w);
}

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
 * The formatter refuses what the parser would refuse (a bad role or stage
 * list, a value over 2^63-1, a negative pid, a line over the limit), so
 * every line it writes parses back to the same fields.  It writes the
 * fixed-size fields into a small local buffer first: then the whole
 * line's length is known before anything goes into the caller's buffer,
 * and "too long for the protocol" (LH_EINVAL) is told apart from "too long
 * for this buffer" (LH_ETRUNC).
 *
 * Stage lists are checked in place, item by item; a name is compared with
 * every earlier one for duplicates, which is quadratic in the number of
 * names but bounded by the line limit (at most ~500 names).
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

/* The fields before stages= at their longest: five keys and separators,
 * four 19-digit numbers and a role. */
#define HEAD_MAX (sizeof "work= queue= heap= pid= role=" + 4 * 19 +          \
                  LH_STATS_ROLE_MAX)
#define STAGES_KEY " stages="

enum key {
    KEY_WORK,
    KEY_QUEUE,
    KEY_HEAP,
    KEY_PID,
    KEY_ROLE,
    KEY_STAGES,
    KEY_COUNT
};

static const char *const key_names[KEY_COUNT] = {"work", "queue", "heap",
                                                  "pid",  "role",  "stages"};

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/* 1 when s[0..len) is 1..max-1 characters of [A-Za-z0-9_.-]. */
static int name_valid(const char *s, size_t len, size_t max)
{
    if (len == 0 || len >= max)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!name_char(s[i]))
            return 0;
    }
    return 1;
}

static int role_valid(const char *s, size_t len)
{
    return name_valid(s, len, LH_STATS_ROLE_MAX);
}

/* The next comma-separated item of list[0..len) from *pos (0 at first):
 * 1 with *name and *n, 0 after the last.  An empty list has no item; ","
 * has two empty ones. */
static int next_item(const char *list, size_t len, size_t *pos,
                     const char **name, size_t *n)
{
    if (len == 0 || *pos > len)
        return 0;
    const char *comma = memchr(list + *pos, ',', len - *pos);
    size_t end = comma ? (size_t)(comma - list) : len;
    *name = list + *pos;
    *n = end - *pos;
    *pos = end + 1;
    return 1;
}

/* 1 when name[0..n) is an item of list[0..len). */
static int has_item(const char *list, size_t len, const char *name, size_t n)
{
    size_t pos = 0, m;
    const char *item;
    while (next_item(list, len, &pos, &item, &m)) {
        if (m == n && memcmp(item, name, n) == 0)
            return 1;
    }
    return 0;
}

int lh_stats_stages_valid(const char *s, size_t len)
{
    size_t pos = 0, n;
    const char *name;

    if (len == 1 && s[0] == '-')
        return 1;
    if (len == 0)
        return 0;
    while (next_item(s, len, &pos, &name, &n)) {
        size_t at = (size_t)(name - s);
        if (!name_valid(name, n, LH_STATS_NAME_MAX) ||
            (n == 1 && name[0] == '-') ||
            (at > 0 && has_item(s, at - 1, name, n)))
            return 0;
    }
    return 1;
}

/* The items of a valid list: "-" has none. */
static size_t list_len(const char *s)
{
    size_t len = strlen(s);
    return len == 1 && s[0] == '-' ? 0 : len;
}

int lh_stats_stages_same(const char *a, const char *b)
{
    size_t alen = list_len(a), blen = list_len(b);
    size_t pos = 0, n, count = 0;
    const char *name;

    /* The items are distinct: a within b and as many of each. */
    while (next_item(a, alen, &pos, &name, &n)) {
        if (!has_item(b, blen, name, n))
            return 0;
        count++;
    }
    pos = 0;
    while (next_item(b, blen, &pos, &name, &n))
        count--;
    return count == 0;
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

/* A text field's value, checked (ok) and fitting dst: copied, marked
 * present.  0 or LH_EPARSE. */
static int take_text(int ok, const char *val, size_t vlen, char *dst,
                     unsigned bit, lh_stats_line *line)
{
    if (!ok)
        return LH_EPARSE;
    memcpy(dst, val, vlen);
    dst[vlen] = '\0';
    line->has |= bit;
    return 0;
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
        return take_text(role_valid(val, vlen), val, vlen, line->role,
                         LH_STATS_HAS_ROLE, line);
    case KEY_STAGES:
        return take_text(lh_stats_stages_valid(val, vlen), val, vlen,
                         line->stages, LH_STATS_HAS_STAGES, line);
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
    if (len == 0 || len >= LH_STATS_LINE_MAX)
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

/* Appends " key=v" (no space first) at *pos; buf has room (HEAD_MAX). */
static void emit(char *buf, size_t *pos, const char *key, uint64_t v)
{
    int n = snprintf(buf + *pos, HEAD_MAX - *pos, "%s%s=%llu",
                     *pos ? " " : "", key, (unsigned long long)v);
    *pos += (size_t)n;
}

/* 1 when the parser would take the line's fields (the length aside). */
static int fields_valid(const lh_stats_line *line)
{
    if (line->work > VALUE_MAX ||
        ((line->has & LH_STATS_HAS_QUEUE) && line->queue > VALUE_MAX) ||
        ((line->has & LH_STATS_HAS_HEAP) && line->heap > VALUE_MAX) ||
        ((line->has & LH_STATS_HAS_PID) && line->pid < 0))
        return 0;
    if ((line->has & LH_STATS_HAS_ROLE) &&
        !role_valid(line->role, strnlen(line->role, LH_STATS_ROLE_MAX)))
        return 0;
    return !(line->has & LH_STATS_HAS_STAGES) ||
           lh_stats_stages_valid(line->stages,
                                 strnlen(line->stages, LH_STATS_LINE_MAX));
}

/* The fields before stages= into head[HEAD_MAX]; returns their length. */
static size_t format_head(const lh_stats_line *line, char *head)
{
    size_t pos = 0;
    emit(head, &pos, "work", line->work);
    if (line->has & LH_STATS_HAS_QUEUE)
        emit(head, &pos, "queue", line->queue);
    if (line->has & LH_STATS_HAS_HEAP)
        emit(head, &pos, "heap", line->heap);
    if (line->has & LH_STATS_HAS_PID)
        emit(head, &pos, "pid", (uint64_t)line->pid);
    if (line->has & LH_STATS_HAS_ROLE) {
        int n = snprintf(head + pos, HEAD_MAX - pos, " role=%s", line->role);
        pos += (size_t)n;
    }
    return pos;
}

int lh_stats_format(const lh_stats_line *line, char *buf, size_t cap)
{
    char head[HEAD_MAX];

    if (!fields_valid(line))
        return LH_EINVAL;
    size_t hlen = format_head(line, head);
    size_t slen = line->has & LH_STATS_HAS_STAGES ? strlen(line->stages) : 0;
    size_t skey = line->has & LH_STATS_HAS_STAGES ? strlen(STAGES_KEY) : 0;
    size_t total = hlen + skey + slen + 1; /* and the '\n' */
    if (total > LH_STATS_LINE_MAX)
        return LH_EINVAL;
    if (total >= cap) {
        if (cap > 0)
            buf[0] = '\0';
        return LH_ETRUNC;
    }
    memcpy(buf, head, hlen);
    memcpy(buf + hlen, STAGES_KEY, skey);
    memcpy(buf + hlen + skey, line->stages, slen);
    buf[total - 1] = '\n';
    buf[total] = '\0';
    return (int)total;
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
    char buf[LH_STATS_LINE_MAX + 1];
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

/*
 * control.c - the live-switching control file (control.h).
 *
 * Design: the look is a stat(2) of the path compared with the identity of
 * the file last read.  Only a change opens the file; the identity kept is
 * the one fstat(2) gives for the descriptor actually read, so a rename
 * between the stat and the open is read once, not twice.  A file that
 * disappears is forgotten (the next one is read whatever its identity).
 * A refused list is said once: its identity is kept like a good one's, so
 * the same file is not refused again at every look.
 */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "registry.h"

void lh_control_init(lh_control *c, const char *role)
{
    const char *path = getenv("LEAKHUNT_CONTROL");
    memset(c, 0, sizeof *c);
    c->role = role;
    c->path = path != NULL && path[0] != '\0' ? path : NULL;
}

int lh_control_wait_ms(const lh_control *c, int64_t now_us)
{
    if (c->path == NULL)
        return -1;
    if (now_us >= c->next_us)
        return 0;
    return (int)((c->next_us - now_us + 999) / 1000);
}

void lh_control_format(unsigned mask, char *buf, size_t cap)
{
    lh_stages_format(mask, buf, cap);
    if (buf[0] == '\0' && cap >= 2)
        snprintf(buf, cap, "-");
}

void lh_control_refuse(const lh_control *c, const char *why,
                       unsigned keeping)
{
    char names[256];
    lh_stages_format(keeping, names, sizeof names);
    fprintf(stderr, "selfheal %s: refusing stage list '%s' from %s: %s; "
            "keeping %s%s%s\n", c->role, c->text, c->path, why,
            names[0] ? "'" : "no stage", names, names[0] ? "'" : "");
}

static int same_file(const lh_control *c, const struct stat *st)
{
    return c->seen && st->st_dev == c->dev && st->st_ino == c->ino &&
           st->st_size == c->size &&
           st->st_mtim.tv_sec == c->mtime.tv_sec &&
           st->st_mtim.tv_nsec == c->mtime.tv_nsec;
}

static void remember(lh_control *c, const struct stat *st)
{
    c->seen = 1;
    c->dev = st->st_dev;
    c->ino = st->st_ino;
    c->size = st->st_size;
    c->mtime = st->st_mtim;
}

/* Reads the open file into c->text as one line without its '\n'.  0, or
 * LH_EINVAL with the reason in why. */
static int read_list(lh_control *c, int fd, char *why, size_t cap)
{
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, c->text + len, sizeof c->text - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(why, cap, "cannot read it: %s", strerror(errno));
            c->text[0] = '\0';
            return LH_EINVAL;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == sizeof c->text) {
            snprintf(c->text, sizeof c->text, "...");
            snprintf(why, cap, "longer than %d bytes", LH_CONTROL_MAX);
            return LH_EINVAL;
        }
    }
    c->text[len] = '\0';
    if (len > 0 && c->text[len - 1] == '\n')
        c->text[--len] = '\0';
    if (len > LH_CONTROL_MAX) {
        snprintf(c->text, sizeof c->text, "...");
        snprintf(why, cap, "longer than %d bytes", LH_CONTROL_MAX);
        return LH_EINVAL;
    }
    if (memchr(c->text, '\n', len) != NULL ||
        memchr(c->text, '\0', len) != NULL) {
        c->text[strcspn(c->text, "\n")] = '\0';
        snprintf(why, cap, "not one line");
        return LH_EINVAL;
    }
    return 0;
}

/* Opens, reads and checks the file.  1 and *mask, 0 (it vanished), or
 * LH_EINVAL (why said). */
static int take_file(lh_control *c, unsigned *mask, char *why, size_t cap)
{
    struct stat st;
    int fd = open(c->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        c->seen = 0;
        return 0;
    }
    if (fd < 0) {
        snprintf(why, cap, "cannot open it: %s", strerror(errno));
        c->text[0] = '\0';
        return LH_EINVAL;
    }
    int rc = fstat(fd, &st);
    if (rc == 0)
        remember(c, &st);
    rc = read_list(c, fd, why, cap);
    close(fd);
    if (rc != 0)
        return rc;
    return lh_stages_parse(c->text, mask, why, cap) == 0 ? 1 : LH_EINVAL;
}

int lh_control_poll(lh_control *c, int64_t now_us, int force,
                    unsigned keeping, unsigned *mask)
{
    struct stat st;
    char why[512];

    if (c->path == NULL || (!force && now_us < c->next_us))
        return 0;
    c->next_us = now_us + LH_CONTROL_PERIOD_US;
    if (stat(c->path, &st) != 0) {
        c->seen = 0; /* gone (or unreachable): read the next one anew */
        return 0;
    }
    if (same_file(c, &st))
        return 0;
    /* A file that cannot be used is refused once, not at every look. */
    remember(c, &st);
    int rc = take_file(c, mask, why, sizeof why);
    if (rc == LH_EINVAL)
        lh_control_refuse(c, why, keeping);
    return rc;
}

int lh_control_start(lh_control *c, unsigned *mask)
{
    unsigned m = 0;
    if (lh_control_poll(c, 0, 1, *mask, &m) != 1)
        return 0;
    *mask = m;
    return 1;
}

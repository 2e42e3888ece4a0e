/*
 * abicheck_pid.c - the objects mapped into a running process.
 *
 * /proc/PID/maps lists every mapping with the device, inode and path of
 * its file; each distinct file is read once, through /proc/PID/root (the
 * process's view of the file system) unless that is our own root.  What
 * is mapped is what was loaded, whatever LD_LIBRARY_PATH or dlopen chose;
 * under valgrind the program's own objects are mapped too, while
 * /proc/PID/exe names valgrind's tool, so the program is taken from the
 * maps (a mapped executable with a PT_INTERP and no soname).  A file
 * deleted or replaced since it was mapped (an upgrade in place) is read
 * through /proc/PID/map_files/, when that is allowed, else named in a
 * warning.  Files that are not ELF (locale archives, shared memory) are
 * skipped without a word.
 */
#include "abicheck_int.h"

#include "alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define DELETED " (deleted)"

/* One distinct file of the maps. */
struct mapped {
    char *path;
    char range[64]; /* "start-end" of its first mapping */
    unsigned long major, minor;
    unsigned long long inode;
    int deleted;
};

/* Splits the next space-separated field off *p. */
static char *field(char **p)
{
    char *s = *p, *e;

    while (*s == ' ')
        s++;
    if (!*s)
        return NULL;
    e = strchr(s, ' ');
    if (e) {
        *e = '\0';
        *p = e + 1;
    } else {
        *p = s + strlen(s);
    }
    return s;
}

int lh_abicheck_maps_line(char *line, lh_abi_mapping *m)
{
    char *p = line, *range, *dev, *inode, *end;
    size_t n;

    memset(m, 0, sizeof *m);
    range = field(&p);
    if (!range || !field(&p) || !field(&p)) /* perms, offset */
        return LH_EPARSE;
    dev = field(&p);
    inode = field(&p);
    if (!dev || !inode || strlen(range) >= sizeof m->range ||
        sscanf(dev, "%lx:%lx", &m->major, &m->minor) != 2)
        return LH_EPARSE;
    errno = 0;
    m->inode = strtoull(inode, &end, 10);
    if (errno || *end)
        return LH_EPARSE;
    memcpy(m->range, range, strlen(range) + 1);
    while (*p == ' ')
        p++;
    n = strcspn(p, "\n");
    p[n] = '\0';
    if (n > strlen(DELETED) &&
        strcmp(p + n - strlen(DELETED), DELETED) == 0) {
        p[n - strlen(DELETED)] = '\0';
        m->deleted = 1;
    }
    m->path = *p ? p : NULL;
    return 0;
}

static void mapped_free(struct mapped *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        lh_free(v[i].path);
    lh_free(v);
}

/* Adds a file mapping unless its file is listed. */
static int keep_mapping(struct mapped **v, size_t *n, size_t *cap,
                        const lh_abi_mapping *m)
{
    size_t i;
    int rc;

    if (!m->path || m->path[0] != '/' || m->inode == 0)
        return 0;
    for (i = 0; i < *n; i++)
        if ((*v)[i].inode == m->inode && (*v)[i].major == m->major &&
            (*v)[i].minor == m->minor)
            return 0;
    rc = lh_grow((void **)v, cap, *n + 1, sizeof **v, 16);
    if (rc)
        return rc;
    memset(&(*v)[*n], 0, sizeof **v);
    (*v)[*n].path = lh_strdup(m->path);
    if (!(*v)[*n].path)
        return LH_ENOMEM;
    memcpy((*v)[*n].range, m->range, sizeof m->range);
    (*v)[*n].major = m->major;
    (*v)[*n].minor = m->minor;
    (*v)[*n].inode = m->inode;
    (*v)[*n].deleted = m->deleted;
    (*n)++;
    return 0;
}

/* Reads the distinct files of /proc/PID/maps. */
static int read_maps(lh_abicheck *ac, long pid, struct mapped **v, size_t *n)
{
    char path[64], *line = NULL;
    size_t len = 0, cap = 0;
    FILE *f;
    int rc = 0;

    snprintf(path, sizeof path, "/proc/%ld/maps", pid);
    f = fopen(path, "re");
    if (!f) {
        if (errno == ENOENT)
            abi_error(ac, "pid %ld: no such process", pid);
        else
            abi_error(ac, "pid %ld: cannot read %s: %s (run as the "
                          "process's user, or as root)",
                      pid, path, strerror(errno));
        return errno == ENOENT ? LH_ENOTFOUND : LH_EIO;
    }
    while (!rc && getline(&line, &len, f) > 0) {
        lh_abi_mapping m;

        if (lh_abicheck_maps_line(line, &m) == 0)
            rc = keep_mapping(v, n, &cap, &m);
    }
    if (!rc && ferror(f)) {
        abi_error(ac, "pid %ld: cannot read %s: %s", pid, path,
                  strerror(errno));
        rc = LH_EIO;
    }
    free(line);
    fclose(f);
    return rc;
}

/* Is the process's root our own?  Then paths are used as they are. */
static int same_root(long pid)
{
    char path[64];
    struct stat a, b;

    snprintf(path, sizeof path, "/proc/%ld/root", pid);
    return stat(path, &a) == 0 && stat("/", &b) == 0 &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Where to open a mapped file: its path (under the process's root), or
 * for one deleted or replaced since, /proc/PID/map_files/RANGE.  NULL
 * with a warning when it cannot be read, or for lack of memory. */
static char *open_path_of(lh_abicheck *ac, long pid, const struct mapped *m,
                          int own_root)
{
    char buf[4200];
    struct stat st;

    if (own_root)
        snprintf(buf, sizeof buf, "%s", m->path);
    else
        snprintf(buf, sizeof buf, "/proc/%ld/root%s", pid, m->path);
    if (!m->deleted && stat(buf, &st) == 0 &&
        (st.st_ino == m->inode ||
         st.st_dev != makedev(m->major, m->minor)))
        return lh_strdup(buf); /* the file mapped (or another fs: trust it) */
    snprintf(buf, sizeof buf, "/proc/%ld/map_files/%s", pid, m->range);
    if (stat(buf, &st) == 0)
        return lh_strdup(buf);
    abi_warning(ac,
                "pid %ld: %s was %s after it was loaded and %s cannot be "
                "read; not checked",
                pid, m->path, m->deleted ? "deleted" : "replaced on disk",
                buf);
    return NULL;
}

/* Does the file start like an ELF file? */
static int looks_elf(const char *path)
{
    unsigned char magic[4];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return 1; /* let the reader say why it cannot be opened */
    n = read(fd, magic, sizeof magic);
    close(fd);
    return n == 4 && memcmp(magic, "\177ELF", 4) == 0;
}

/* The program of the process among files first..nfiles-1: mapped
 * executables with a PT_INTERP and no soname, else /proc/PID/exe. */
static void mark_program(lh_abicheck *ac, long pid, const size_t *read,
                         size_t nread)
{
    char path[64];
    struct stat st;
    size_t i, marked = 0;

    for (i = 0; i < nread; i++) {
        struct abi_file *f = &ac->files[read[i]];

        if (f->has_interp && !f->pub.soname) {
            f->pub.primary = 1;
            marked++;
        }
    }
    snprintf(path, sizeof path, "/proc/%ld/exe", pid);
    if (marked || stat(path, &st) != 0)
        return;
    for (i = 0; i < nread; i++)
        if (ac->files[read[i]].dev == st.st_dev &&
            ac->files[read[i]].ino == st.st_ino)
            ac->files[read[i]].pub.primary = 1;
}

/* Reads every mapped ELF file; `read` receives the file indexes. */
static int read_mapped(lh_abicheck *ac, long pid, const struct mapped *v,
                       size_t n, size_t *read, size_t *nread)
{
    int own_root = same_root(pid), rc = 0;
    size_t i, at;

    for (i = 0; i < n && rc != LH_ENOMEM; i++) {
        char *open_path = open_path_of(ac, pid, &v[i], own_root);

        at = ABI_NONE;
        if (open_path && looks_elf(open_path))
            rc = abi_read_path(ac, v[i].path, open_path, LH_ABI_MAPPED, &at);
        lh_free(open_path);
        if (at != ABI_NONE)
            read[(*nread)++] = at;
    }
    return rc == LH_ENOMEM ? rc : 0;
}

int lh_abicheck_add_pid(lh_abicheck *ac, long pid)
{
    struct mapped *v = NULL;
    size_t n = 0, nread = 0, *read = NULL;
    int rc;

    if (pid <= 0) {
        abi_error(ac, "pid %ld: not a process id", pid);
        ac->fatal++;
        return LH_ENOTFOUND;
    }
    rc = read_maps(ac, pid, &v, &n);
    if (rc && rc != LH_ENOMEM)
        ac->fatal++;
    if (!rc && n) {
        read = lh_calloc(n, sizeof *read);
        rc = read ? read_mapped(ac, pid, v, n, read, &nread) : LH_ENOMEM;
    }
    if (!rc)
        mark_program(ac, pid, read, nread);
    lh_free(read);
    mapped_free(v, n);
    return rc ? rc : abi_settle(ac);
}

/*
 * ldsearch.c - the dynamic loader's library search (order in ldsearch.h).
 *
 * Design notes.  Each object's dynamic section is read once, when the
 * object joins the list (load_object): its DT_NEEDED names, DT_RPATH,
 * DT_RUNPATH, DT_SONAME and DF_1_NODEFLIB, its PT_INTERP, ELF class and
 * machine, and its device and inode.  The list is then walked in order,
 * which is breadth first because every object is appended: the loader's
 * own order (glibc's _dl_map_object_deps).  The loader's cache is read on
 * first use.  Path lists are split and their $ORIGIN expanded per lookup:
 * a program has a few dozen dependencies, not thousands.
 */
#include "ldsearch.h"

#include "alloc.h"
#include "buf.h"
#include "error.h"
#include "ldcache.h"

#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEARCHED_MAX 2048

/* What one lookup is after, and what it tried. */
struct lookup {
    const char *name;
    lh_buf searched;
    char *found;
    lh_ld_how how;
};

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        return lh_strdup(".");
    if (slash == path)
        return lh_strdup("/");
    return lh_strndup(path, (size_t)(slash - path));
}

/* The root's $ORIGIN: the directory of its real path (the loader takes
 * the program's from /proc/self/exe, a resolved path). */
static char *root_origin(const char *path)
{
    char *real = realpath(path, NULL);
    char *dir;

    if (!real)
        return dir_of(path);
    dir = dir_of(real);
    free(real);
    return dir;
}

/* Reads the string of a DT_ entry; 0 or LH_ENOMEM. */
static int dyn_string(Elf *elf, size_t strndx, GElf_Xword off, char **out)
{
    const char *s = elf_strptr(elf, strndx, (size_t)off);

    if (!s)
        return 0;
    lh_free(*out);
    *out = lh_strdup(s);
    return *out ? 0 : LH_ENOMEM;
}

static int add_needed(lh_ld_object *o, Elf *elf, size_t strndx,
                      GElf_Xword off, size_t *cap)
{
    const char *s = elf_strptr(elf, strndx, (size_t)off);
    int rc;

    if (!s)
        return 0;
    rc = lh_grow((void **)&o->needed, cap, o->nneeded + 1, sizeof *o->needed,
                 8);
    if (rc)
        return rc;
    o->needed[o->nneeded] = lh_strdup(s);
    if (!o->needed[o->nneeded])
        return LH_ENOMEM;
    o->nneeded++;
    return 0;
}

/* Reads the entries of the SHT_DYNAMIC section `scn`. */
static int read_dynamic(lh_ld_object *o, Elf *elf, Elf_Scn *scn,
                        size_t strndx)
{
    Elf_Data *d = elf_getdata(scn, NULL);
    size_t i, cap = 0;
    GElf_Dyn dyn;
    int rc = 0;

    for (i = 0; d && !rc && gelf_getdyn(d, (int)i, &dyn); i++) {
        switch (dyn.d_tag) {
        case DT_NULL:
            return 0;
        case DT_NEEDED:
            rc = add_needed(o, elf, strndx, dyn.d_un.d_val, &cap);
            break;
        case DT_RPATH:
            rc = dyn_string(elf, strndx, dyn.d_un.d_val, &o->rpath);
            break;
        case DT_RUNPATH:
            rc = dyn_string(elf, strndx, dyn.d_un.d_val, &o->runpath);
            break;
        case DT_SONAME:
            rc = dyn_string(elf, strndx, dyn.d_un.d_val, &o->soname);
            break;
        case DT_FLAGS_1:
            o->nodeflib = (dyn.d_un.d_val & DF_1_NODEFLIB) != 0;
            break;
        default:
            break;
        }
    }
    return rc;
}

/* The program interpreter named by PT_INTERP, if any. */
static int read_interp(lh_ld_object *o, Elf *elf)
{
    size_t n = 0, i, size = 0;
    const char *raw = elf_rawfile(elf, &size);

    if (!raw || elf_getphdrnum(elf, &n) != 0)
        return 0;
    for (i = 0; i < n; i++) {
        GElf_Phdr ph;

        if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_INTERP)
            continue;
        if (ph.p_offset >= size || ph.p_filesz == 0 ||
            ph.p_filesz > size - ph.p_offset ||
            raw[ph.p_offset + ph.p_filesz - 1] != '\0')
            return 0;
        o->interp = lh_strdup(raw + ph.p_offset);
        return o->interp ? 0 : LH_ENOMEM;
    }
    return 0;
}

int lh_ld_object_read(lh_ld_object *o, Elf *elf)
{
    Elf_Scn *scn = NULL;
    GElf_Ehdr eh;
    int rc;

    if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
        (eh.e_type != ET_EXEC && eh.e_type != ET_DYN))
        return 0;
    o->dynamic = 1;
    o->elf_class = eh.e_ident[EI_CLASS];
    o->elf_machine = eh.e_machine;
    rc = read_interp(o, elf);
    while (!rc) {
        GElf_Shdr sh;

        scn = elf_nextscn(elf, scn);
        if (!scn)
            break;
        if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_DYNAMIC) {
            rc = read_dynamic(o, elf, scn, sh.sh_link);
            break;
        }
    }
    return rc;
}

/* Opens `path` and reads its ELF information into `o`.  0 (whatever the
 * file is), or LH_ENOMEM. */
static int load_object(lh_ld_object *o, const char *path)
{
    struct stat st;
    Elf *elf;
    int fd, rc;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return 0;
    }
    o->dev = st.st_dev;
    o->ino = st.st_ino;
    elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    rc = elf ? lh_ld_object_read(o, elf) : 0;
    if (elf)
        elf_end(elf);
    close(fd);
    return rc;
}

void lh_ld_object_release(lh_ld_object *o)
{
    size_t i;

    for (i = 0; i < o->nneeded; i++)
        lh_free(o->needed[i]);
    lh_free(o->needed);
    lh_free(o->name);
    lh_free(o->path);
    lh_free(o->soname);
    lh_free(o->searched);
    lh_free(o->rpath);
    lh_free(o->runpath);
    lh_free(o->interp);
    lh_free(o->origin);
    memset(o, 0, sizeof *o);
}

void lh_ldsearch_free(lh_ldsearch *s)
{
    size_t i;

    for (i = 0; i < s->count; i++)
        lh_ld_object_release(&s->objects[i]);
    lh_free(s->objects);
    lh_ldcache_free(s->cache);
    memset(s, 0, sizeof *s);
}

const char *lh_ldsearch_how_name(lh_ld_how how)
{
    static const char *const names[] = {
        "named",   "path",        "RPATH",   "LD_LIBRARY_PATH", "RUNPATH",
        "ld.so.cache", "default directory", "PT_INTERP", "missing"};

    return (unsigned)how < sizeof names / sizeof names[0] ? names[how] : "?";
}

/* Appends a zeroed object; its index in *at. */
static int push_object(lh_ldsearch *s, size_t *at)
{
    int rc = lh_grow((void **)&s->objects, &s->cap, s->count + 1,
                     sizeof *s->objects, 16);

    if (rc)
        return rc;
    memset(&s->objects[s->count], 0, sizeof *s->objects);
    s->objects[s->count].needed_by = LH_LD_NONE;
    s->objects[s->count].loader = LH_LD_NONE;
    *at = s->count++;
    return 0;
}

/* Is an object with this device and inode already listed? */
static int listed_file(const lh_ldsearch *s, dev_t dev, ino_t ino)
{
    size_t i;

    for (i = 0; i < s->count; i++)
        if (s->objects[i].path && s->objects[i].dev == dev &&
            s->objects[i].ino == ino && (dev || ino))
            return 1;
    return 0;
}

/* Does a name resolve to an object already listed (by a name it was asked
 * for, or its soname)? */
static int listed_name(const lh_ldsearch *s, const char *name)
{
    size_t i;

    for (i = 0; i < s->count; i++) {
        const lh_ld_object *o = &s->objects[i];

        if ((o->how != LH_LD_ROOT && strcmp(o->name, name) == 0) ||
            (o->soname && strcmp(o->soname, name) == 0))
            return 1;
    }
    return 0;
}

/*
 * Expands $ORIGIN / ${ORIGIN} in `in` (len bytes) with `origin`.  0 and
 * *out (NULL when the element holds another substitution and is to be
 * skipped), or LH_ENOMEM.
 */
static int expand(const char *in, size_t len, const char *origin, char **out)
{
    lh_buf b = LH_BUF_INIT;
    size_t i = 0;
    int rc = 0;

    *out = NULL;
    if (len == 0)
        return (*out = lh_strdup(".")) ? 0 : LH_ENOMEM;
    while (i < len && !rc) {
        if (in[i] != '$') {
            rc = lh_buf_append(&b, in + i++, 1);
        } else if (len - i >= 7 && memcmp(in + i, "$ORIGIN", 7) == 0) {
            rc = lh_buf_append(&b, origin, strlen(origin));
            i += 7;
        } else if (len - i >= 9 && memcmp(in + i, "${ORIGIN}", 9) == 0) {
            rc = lh_buf_append(&b, origin, strlen(origin));
            i += 9;
        } else {
            lh_buf_free(&b);
            return 0; /* $LIB, $PLATFORM: not modelled */
        }
    }
    if (!rc)
        rc = lh_buf_append(&b, "", 1);
    if (!rc) {
        *out = lh_strdup((const char *)lh_buf_peek(&b));
        rc = *out ? 0 : LH_ENOMEM;
    }
    lh_buf_free(&b);
    return rc;
}

/* Is `path` an ELF object the program could load (its class and
 * machine)?  Fills `probe` (released by the caller). */
static int usable(const lh_ldsearch *s, const char *path, lh_ld_object *probe,
                  int *ok)
{
    const lh_ld_object *m = s->main != LH_LD_NONE ? &s->objects[s->main] : NULL;
    int rc = load_object(probe, path);

    *ok = !rc && probe->dynamic &&
          (!m || (probe->elf_class == m->elf_class &&
                  probe->elf_machine == m->elf_machine));
    return rc;
}

/* Records a directory tried, for the message about a missing library. */
static void note_searched(struct lookup *lk, const char *dir)
{
    if (lh_buf_len(&lk->searched) + strlen(dir) + 2 > SEARCHED_MAX)
        return;
    if (lh_buf_len(&lk->searched))
        lh_buf_append(&lk->searched, ":", 1);
    lh_buf_append(&lk->searched, dir, strlen(dir));
}

/* Tries dir/name.  0 (lk->found set when usable), or LH_ENOMEM. */
static int try_dir(const lh_ldsearch *s, struct lookup *lk, const char *dir,
                   lh_ld_how how)
{
    lh_ld_object probe;
    size_t dl = strlen(dir), nl = strlen(lk->name);
    char *path = lh_malloc(dl + nl + 2);
    int ok = 0, rc;

    if (!path)
        return LH_ENOMEM;
    memcpy(path, dir, dl);
    path[dl] = '/';
    memcpy(path + dl + 1, lk->name, nl + 1);
    memset(&probe, 0, sizeof probe);
    note_searched(lk, dir);
    rc = usable(s, path, &probe, &ok);
    lh_ld_object_release(&probe);
    if (!rc && ok) {
        lk->found = path;
        lk->how = how;
        return 0;
    }
    lh_free(path);
    return rc;
}

/* Tries every directory of a path list (`seps` separate its elements). */
static int try_list(const lh_ldsearch *s, struct lookup *lk, const char *list,
                    const char *seps, const char *origin, lh_ld_how how)
{
    const char *p = list;
    int rc = 0;

    while (p && !lk->found && !rc) {
        size_t len = strcspn(p, seps);
        char *dir = NULL;

        rc = expand(p, len, origin, &dir);
        if (!rc && dir)
            rc = try_dir(s, lk, dir, how);
        lh_free(dir);
        p = p[len] ? p + len + 1 : NULL;
    }
    return rc;
}

/* Steps 2 to 4 of the order: inherited DT_RPATH, LD_LIBRARY_PATH, the
 * needing object's DT_RUNPATH. */
static int try_paths(lh_ldsearch *s, struct lookup *lk, size_t loader)
{
    const lh_ld_object *ld = &s->objects[loader];
    const char *llp = s->env ? s->env->ld_library_path : NULL;
    const char *main_origin =
        s->main != LH_LD_NONE ? s->objects[s->main].origin : ".";
    int rc = 0, did_main = 0;
    size_t l;

    if (!ld->runpath) {
        for (l = loader; l != LH_LD_NONE && !lk->found && !rc;
             l = s->objects[l].loader) {
            const lh_ld_object *o = &s->objects[l];

            if (o->rpath && !o->runpath)
                rc = try_list(s, lk, o->rpath, ":", o->origin, LH_LD_RPATH);
            did_main |= l == s->main;
        }
        if (!did_main && !lk->found && !rc && s->main != LH_LD_NONE &&
            s->objects[s->main].rpath && !s->objects[s->main].runpath)
            rc = try_list(s, lk, s->objects[s->main].rpath, ":", main_origin,
                          LH_LD_RPATH);
    }
    if (llp && *llp && !lk->found && !rc)
        rc = try_list(s, lk, llp, ":;", main_origin, LH_LD_LIBRARY_PATH);
    if (ld->runpath && !lk->found && !rc)
        rc = try_list(s, lk, ld->runpath, ":", ld->origin, LH_LD_RUNPATH);
    return rc;
}

/* Step 5: the loader's cache, read on first use (an unreadable cache is
 * no cache, as for the loader). */
static int try_cache(lh_ldsearch *s, struct lookup *lk)
{
    const char *path = s->env && s->env->cache_path ? s->env->cache_path
                                                    : "/etc/ld.so.cache";
    size_t i;
    int rc = 0;

    if (!s->cache_tried && *path) {
        s->cache_tried = 1;
        rc = lh_ldcache_load(&s->cache, path, NULL, 0);
        if (rc == LH_ENOMEM)
            return rc;
        rc = 0;
    }
    if (!s->cache)
        return 0;
    note_searched(lk, "(ld.so.cache)");
    for (i = 0; !lk->found && !rc; i++) {
        const char *c = lh_ldcache_find(s->cache, lk->name, i);
        lh_ld_object probe;
        int ok = 0;

        if (!c)
            break;
        memset(&probe, 0, sizeof probe);
        rc = usable(s, c, &probe, &ok);
        lh_ld_object_release(&probe);
        if (!rc && ok) {
            lk->found = lh_strdup(c);
            lk->how = LH_LD_CACHE;
            rc = lk->found ? 0 : LH_ENOMEM;
        }
    }
    return rc;
}

/* The multiarch triplet of a machine (Debian's library directories). */
static const char *triplet(unsigned machine)
{
    switch (machine) {
    case EM_X86_64:
        return "x86_64-linux-gnu";
    case EM_AARCH64:
        return "aarch64-linux-gnu";
    case EM_386:
        return "i386-linux-gnu";
    case EM_ARM:
        return "arm-linux-gnueabihf";
    case EM_PPC64:
        return "powerpc64le-linux-gnu";
    case EM_S390:
        return "s390x-linux-gnu";
    case EM_RISCV:
        return "riscv64-linux-gnu";
    default:
        return NULL;
    }
}

/* Step 6: the default directories. */
static int try_defaults(lh_ldsearch *s, struct lookup *lk)
{
    const lh_ld_object *m = s->main != LH_LD_NONE ? &s->objects[s->main] : NULL;
    const char *t = m ? triplet(m->elf_machine) : NULL;
    char dirs[6][64];
    size_t n = 0, i;
    int rc = 0;

    if (s->env && s->env->default_dirs) {
        for (i = 0; s->env->default_dirs[i] && !lk->found && !rc; i++)
            rc = try_dir(s, lk, s->env->default_dirs[i], LH_LD_DEFAULT);
        return rc;
    }
    if (t) {
        snprintf(dirs[n++], sizeof dirs[0], "/lib/%s", t);
        snprintf(dirs[n++], sizeof dirs[0], "/usr/lib/%s", t);
    }
    if (m && m->elf_class == ELFCLASS64) {
        snprintf(dirs[n++], sizeof dirs[0], "/lib64");
        snprintf(dirs[n++], sizeof dirs[0], "/usr/lib64");
    }
    snprintf(dirs[n++], sizeof dirs[0], "/lib");
    snprintf(dirs[n++], sizeof dirs[0], "/usr/lib");
    for (i = 0; i < n && !lk->found && !rc; i++)
        rc = try_dir(s, lk, dirs[i], LH_LD_DEFAULT);
    return rc;
}

/* Finds `lk->name` for the object `loader`, in the loader's order. */
static int search(lh_ldsearch *s, struct lookup *lk, size_t loader)
{
    const lh_ld_object *ld = &s->objects[loader];
    lh_ld_object probe;
    int rc, ok = 0;

    if (strchr(lk->name, '/')) {
        rc = expand(lk->name, strlen(lk->name), ld->origin, &lk->found);
        if (rc || !lk->found)
            return rc;
        memset(&probe, 0, sizeof probe);
        rc = usable(s, lk->found, &probe, &ok);
        lh_ld_object_release(&probe);
        lk->how = LH_LD_SLASH;
        if (!rc && !ok) {
            note_searched(lk, lk->found);
            lh_free(lk->found);
            lk->found = NULL;
        }
        return rc;
    }
    rc = try_paths(s, lk, loader);
    if (!rc && !lk->found && !ld->nodeflib)
        rc = try_cache(s, lk);
    if (!rc && !lk->found && !ld->nodeflib)
        rc = try_defaults(s, lk);
    return rc;
}

/* Adds the result of a lookup (found or missing) as a new object. */
static int add_found(lh_ldsearch *s, struct lookup *lk, size_t loader)
{
    lh_ld_object *o;
    size_t at;
    int rc = push_object(s, &at);

    if (rc)
        return rc;
    o = &s->objects[at];
    o->needed_by = loader;
    o->loader = loader;
    o->how = lk->found ? lk->how : LH_LD_MISSING;
    o->name = lh_strdup(lk->name);
    if (!o->name)
        return LH_ENOMEM;
    if (!lk->found) {
        rc = lh_buf_append(&lk->searched, "", 1);
        o->searched = rc ? NULL : lh_strdup((const char *)lh_buf_peek(&lk->searched));
        return o->searched ? 0 : LH_ENOMEM;
    }
    o->path = lk->found;
    lk->found = NULL;
    o->origin = dir_of(o->path);
    if (!o->origin)
        return LH_ENOMEM;
    return load_object(o, o->path);
}

/* Resolves one DT_NEEDED name of object `loader`. */
static int resolve(lh_ldsearch *s, size_t loader, const char *name)
{
    struct lookup lk;
    lh_ld_object probe;
    int rc;

    if (listed_name(s, name))
        return 0;
    memset(&lk, 0, sizeof lk);
    lk.name = name;
    rc = search(s, &lk, loader);
    if (!rc && lk.found) {
        memset(&probe, 0, sizeof probe);
        rc = load_object(&probe, lk.found);
        if (!rc && listed_file(s, probe.dev, probe.ino)) {
            lh_free(lk.found); /* the same file under another name */
            lk.found = NULL;
            lh_ld_object_release(&probe);
            lh_buf_free(&lk.searched);
            return 0;
        }
        lh_ld_object_release(&probe);
    }
    if (!rc)
        rc = add_found(s, &lk, loader);
    lh_free(lk.found);
    lh_buf_free(&lk.searched);
    return rc;
}

/* Adds the roots; the first dynamic one becomes the program. */
static int add_roots(lh_ldsearch *s, const char *const *roots, size_t nroots)
{
    size_t i, at;
    int rc;

    for (i = 0; i < nroots; i++) {
        lh_ld_object *o;

        rc = push_object(s, &at);
        if (rc)
            return rc;
        o = &s->objects[at];
        o->how = LH_LD_ROOT;
        o->name = lh_strdup(roots[i]);
        o->path = lh_strdup(roots[i]);
        o->origin = root_origin(roots[i]);
        if (!o->name || !o->path || !o->origin)
            return LH_ENOMEM;
        rc = load_object(o, o->path);
        if (rc)
            return rc;
        if (o->dynamic && s->main == LH_LD_NONE)
            s->main = at;
    }
    for (i = 0; i < s->count; i++)
        if (i != s->main)
            s->objects[i].loader = s->main; /* like LD_PRELOAD objects */
    return 0;
}

/* The program's interpreter, unless a dependency already was it. */
static int add_interp(lh_ldsearch *s)
{
    lh_ld_object probe;
    struct lookup lk;
    int rc;

    if (s->main == LH_LD_NONE || !s->objects[s->main].interp)
        return 0;
    memset(&probe, 0, sizeof probe);
    rc = load_object(&probe, s->objects[s->main].interp);
    if (rc || !probe.dynamic || listed_file(s, probe.dev, probe.ino)) {
        lh_ld_object_release(&probe);
        return rc;
    }
    lh_ld_object_release(&probe);
    memset(&lk, 0, sizeof lk);
    lk.name = s->objects[s->main].interp;
    lk.found = lh_strdup(lk.name);
    lk.how = LH_LD_INTERP;
    rc = lk.found ? add_found(s, &lk, s->main) : LH_ENOMEM;
    lh_free(lk.found);
    lh_buf_free(&lk.searched);
    return rc;
}

int lh_ldsearch_run(lh_ldsearch *s, const char *const *roots, size_t nroots,
                    const lh_ldsearch_env *env)
{
    size_t i, k;
    int rc;

    memset(s, 0, sizeof *s);
    s->main = LH_LD_NONE;
    s->env = env;
    elf_version(EV_CURRENT);
    rc = add_roots(s, roots, nroots);
    for (i = 0; !rc && i < s->count; i++) {
        /* resolve() may move the array: index, never keep pointers */
        for (k = 0; !rc && k < s->objects[i].nneeded; k++)
            rc = resolve(s, i, s->objects[i].needed[k]);
    }
    if (!rc)
        rc = add_interp(s);
    s->env = NULL;
    return rc;
}

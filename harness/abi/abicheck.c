/*
 * abicheck.c - abi-check's entry points (abicheck.h): the checker's life
 * cycle, adding inputs (files, memory, a program's dependencies), the
 * accessors, marking by source file and the exit status.
 *
 * The parts of the module are listed in abicheck_int.h.  Every addition
 * ends with abi_settle (abicheck_cross.c), so the verdicts the accessors
 * and writers read are always those of everything added so far.
 */
#include "abicheck_int.h"

#include "alloc.h"

#include <stdlib.h>
#include <string.h>

int lh_abicheck_new(lh_abicheck **out)
{
    lh_abicheck *ac = lh_calloc(1, sizeof *ac);

    if (!ac)
        return LH_ENOMEM;
    if (abi_debug_init(ac) != 0) {
        lh_free(ac);
        return LH_ENOMEM;
    }
    elf_version(EV_CURRENT);
    *out = ac;
    return 0;
}

static void free_files(lh_abicheck *ac)
{
    size_t i;

    for (i = 0; i < ac->nfiles; i++) {
        lh_free(ac->files[i].pub.path);
        lh_free(ac->files[i].pub.soname);
        lh_free(ac->files[i].pub.debug_file);
        lh_free(ac->files[i].pub.needed_by);
        abi_syms_release(&ac->files[i]);
    }
    lh_free(ac->files);
}

void lh_abicheck_free(lh_abicheck *ac)
{
    size_t i;

    if (!ac)
        return;
    for (i = 0; i < ac->ntypes; i++)
        abi_type_free(ac->types[i]);
    lh_free(ac->types);
    abi_index_free(&ac->type_index);
    lh_free(ac->shown);
    for (i = 0; i < ac->nunits; i++) {
        lh_free(ac->units[i].cu);
        lh_free(ac->units[i].file);
        lh_free(ac->units[i].path);
    }
    lh_free(ac->units);
    abi_free_strings(ac->errors, ac->nerrors);
    abi_free_strings(ac->warnings, ac->nwarnings);
    free_files(ac);
    lh_free(ac->debuginfo_path);
    lh_free(ac);
}

int lh_abicheck_add_file(lh_abicheck *ac, const char *path)
{
    size_t at;
    int rc = abi_read_path(ac, path, path, LH_ABI_NAMED, &at);

    if (rc == LH_ENOMEM)
        return rc;
    return abi_settle(ac) ? LH_ENOMEM : rc;
}

int lh_abicheck_add_memory(lh_abicheck *ac, const char *name,
                           const void *data, size_t len)
{
    char *copy;
    Elf *elf = NULL;
    int rc;

    rc = abi_file_add(ac, name, LH_ABI_NAMED, &ac->cur_file);
    if (rc)
        return rc;
    copy = lh_malloc(len ? len : 1);
    if (!copy)
        return LH_ENOMEM;
    if (len)
        memcpy(copy, data, len);
    elf = elf_memory(copy, len);
    if (!elf) {
        abi_error(ac, "%s: cannot read: %s", name, elf_errmsg(-1));
        rc = LH_EBADMAGIC;
    } else {
        rc = abi_read_any(ac, elf, -1, ELF_C_READ_MMAP, name, NULL);
        elf_end(elf);
    }
    lh_free(copy);
    if (ac->files[ac->cur_file].pub.status == LH_ABI_FILE_ERROR)
        ac->fatal++;
    if (rc == LH_ENOMEM)
        return rc;
    return abi_settle(ac) ? LH_ENOMEM : rc;
}

/* ------------------------------------------------------- dependencies */

/* A dependency the search did not find: a file record and a warning. */
static int add_missing(lh_abicheck *ac, const lh_ld_object *o,
                       const char *needer)
{
    size_t at;
    int rc = abi_file_add(ac, o->name, LH_ABI_DEPENDENCY, &at);

    if (rc)
        return rc;
    ac->files[at].fatal = 0;
    ac->files[at].pub.needed_by = lh_strdup(needer);
    abi_warning(ac, "%s (needed by %s): not found; looked in %s", o->name,
                needer, o->searched && *o->searched ? o->searched : "nothing");
    return ac->files[at].pub.needed_by ? 0 : LH_ENOMEM;
}

/* Reads the objects the search found beyond the roots. */
static int read_found(lh_abicheck *ac, const lh_ldsearch *s, size_t nroots)
{
    size_t i, at;
    int rc = 0;

    for (i = nroots; i < s->count && rc != LH_ENOMEM; i++) {
        const lh_ld_object *o = &s->objects[i];
        const char *needer = o->needed_by != LH_LD_NONE
                                 ? s->objects[o->needed_by].path
                                 : "?";

        if (!o->path) {
            rc = add_missing(ac, o, needer);
            continue;
        }
        rc = abi_read_path(ac, o->path, o->path, LH_ABI_DEPENDENCY, &at);
        if (rc != LH_ENOMEM && at != ABI_NONE) {
            ac->files[at].pub.needed_by = lh_strdup(needer);
            rc = ac->files[at].pub.needed_by ? 0 : LH_ENOMEM;
        }
    }
    return rc == LH_ENOMEM ? rc : 0;
}

int lh_abicheck_add_deps(lh_abicheck *ac, const lh_ldsearch_env *env)
{
    lh_ldsearch_env here;
    lh_ldsearch s;
    const char **roots;
    size_t i, n = 0;
    int rc;

    roots = lh_calloc(ac->nfiles ? ac->nfiles : 1, sizeof *roots);
    if (!roots)
        return LH_ENOMEM;
    for (i = 0; i < ac->nfiles; i++)
        if (ac->files[i].pub.origin == LH_ABI_NAMED && ac->files[i].ino)
            roots[n++] = ac->files[i].pub.path;
    if (!env) {
        memset(&here, 0, sizeof here);
        here.ld_library_path = getenv("LD_LIBRARY_PATH");
        env = &here;
    }
    rc = lh_ldsearch_run(&s, roots, n, env);
    if (!rc)
        rc = read_found(ac, &s, n);
    lh_ldsearch_free(&s);
    lh_free(roots);
    if (rc)
        return rc;
    return abi_settle(ac);
}

/* ------------------------------------------------------------ accessors */

size_t lh_abicheck_type_count(const lh_abicheck *ac)
{
    return ac->nshown;
}

const lh_abi_type *lh_abicheck_type(const lh_abicheck *ac, size_t i)
{
    return i < ac->nshown ? ac->types[ac->shown[i]] : NULL;
}

const lh_abi_type *lh_abicheck_find(const lh_abicheck *ac, const char *name)
{
    size_t i;

    for (i = 0; i < ac->nshown; i++)
        if (strcmp(ac->types[ac->shown[i]]->name, name) == 0)
            return ac->types[ac->shown[i]];
    return NULL;
}

size_t lh_abicheck_conflict_count(const lh_abicheck *ac)
{
    size_t i, n = 0;

    for (i = 0; i < ac->nshown; i++) {
        lh_abi_verdict v = ac->types[ac->shown[i]]->verdict;

        n += v == LH_ABI_INSIDE || v == LH_ABI_ACROSS;
    }
    return n;
}

size_t lh_abicheck_unit_count(const lh_abicheck *ac)
{
    return ac->nunits;
}

const lh_abi_unit *lh_abicheck_unit(const lh_abicheck *ac, size_t i)
{
    return i < ac->nunits ? &ac->units[i] : NULL;
}

size_t lh_abicheck_file_count(const lh_abicheck *ac)
{
    return ac->nfiles;
}

const lh_abi_file *lh_abicheck_file(const lh_abicheck *ac, size_t i)
{
    return i < ac->nfiles ? &ac->files[i].pub : NULL;
}

size_t lh_abicheck_error_count(const lh_abicheck *ac)
{
    return ac->nerrors;
}

const char *lh_abicheck_error(const lh_abicheck *ac, size_t i)
{
    return i < ac->nerrors ? ac->errors[i] : NULL;
}

size_t lh_abicheck_warning_count(const lh_abicheck *ac)
{
    return ac->nwarnings;
}

const char *lh_abicheck_warning(const lh_abicheck *ac, size_t i)
{
    return i < ac->nwarnings ? ac->warnings[i] : NULL;
}

int abi_checked_something(const lh_abicheck *ac)
{
    size_t i;

    for (i = 0; i < ac->nfiles; i++)
        if (ac->files[i].pub.units > 0 &&
            ac->files[i].pub.origin != LH_ABI_DEPENDENCY)
            return 1;
    return 0;
}

int lh_abicheck_status(const lh_abicheck *ac)
{
    if (ac->fatal > 0 || !abi_checked_something(ac))
        return 2;
    return lh_abicheck_conflict_count(ac) > 0 ? 1 : 0;
}

/* ------------------------------------------------------------- marking */

/* Is the unit's source `name` (see lh_abicheck_mark_files)? */
static int source_matches(const char *unit_path, const char *name)
{
    size_t ul = strlen(unit_path), nl;

    if (name[0] == '/')
        return strcmp(unit_path, name) == 0;
    while (name[0] == '.' &&
           (name[1] == '/' || (name[1] == '.' && name[2] == '/')))
        name += name[1] == '/' ? 2 : 3;
    nl = strlen(name);
    if (nl == 0 || nl > ul)
        return 0;
    return strcmp(unit_path + ul - nl, name) == 0 &&
           (ul == nl || unit_path[ul - nl - 1] == '/');
}

/* Does one of the type's units come from one of the files? */
static int type_on_files(const lh_abicheck *ac, const lh_abi_type *t,
                         char *const *norm, size_t n)
{
    size_t j, k, f;

    for (j = 0; j < t->nlayouts; j++)
        for (k = 0; k < t->layouts[j].nunits; k++)
            for (f = 0; f < n; f++)
                if (norm[f] &&
                    source_matches(ac->units[t->layouts[j].units[k]].path,
                                   norm[f]))
                    return 1;
    return 0;
}

size_t lh_abicheck_mark_files(lh_abicheck *ac, const char *const *files,
                              size_t nfiles)
{
    char **norm = lh_calloc(nfiles ? nfiles : 1, sizeof *norm);
    size_t i, marked = 0;

    ac->marked_lists++;
    for (i = 0; norm && i < nfiles; i++)
        norm[i] = files[i] && files[i][0] == '/' ? abi_path_norm(NULL, files[i])
                  : files[i]                     ? lh_strdup(files[i])
                                                 : NULL;
    for (i = 0; i < ac->nshown; i++) {
        lh_abi_type *t = ac->types[ac->shown[i]];

        t->marked = norm && (t->verdict == LH_ABI_INSIDE ||
                             t->verdict == LH_ABI_ACROSS) &&
                    type_on_files(ac, t, norm, nfiles);
        marked += t->marked != 0;
    }
    for (i = 0; norm && i < nfiles; i++)
        lh_free(norm[i]);
    lh_free(norm);
    return marked;
}

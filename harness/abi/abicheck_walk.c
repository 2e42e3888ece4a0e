/*
 * abicheck_walk.c - the walk over a Dwarf's units: every DIE visited once,
 * type definitions recorded (abicheck_die.c), the functions and variables
 * of the object's symbols handed to abicheck_syms.c.
 *
 * Split DWARF: a skeleton unit is read through its split unit, which libdw
 * finds in the .dwo the compiler named; a tree moved with its .dwo files
 * has them beside the input instead (read_moved_dwo).  Type units
 * (-fdebug-types-section) are read like any unit and named by signature;
 * afterwards each layout read from one is credited to the compilation
 * units that refer to it directly (attribute_type_units).  Recursion over
 * DIEs is bounded (ABI_MAX_DIE_DEPTH).
 */
#include "abicheck_int.h"

#include "alloc.h"

#include <dwarf.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Type units of one Dwarf and the references into them (DW_FORM_ref_sig8),
 * so that a layout read from a type unit can also name the compilation
 * units that refer to it.
 */
struct tu_ref {
    size_t from;  /* unit index (ac->units) of the referring unit */
    Dwarf_CU *to; /* the type unit referred to */
};
struct abi_tu_track {
    struct tu_ref *refs;
    size_t nrefs, refs_cap;
    Dwarf_CU **tu_cu; /* type units read, in reading order ... */
    size_t *tu_unit;  /* ... and their unit indexes (ascending) */
    size_t ntus, tus_cap, tu_unit_cap;
};

/* Notes a DW_AT_type that refers into a type unit by signature. */
static int track_ref(struct abi_walk *w, Dwarf_Die *die)
{
    struct abi_tu_track *t = w->track;
    Dwarf_Attribute a;
    Dwarf_Die target;
    int rc;

    if (!dwarf_attr(die, DW_AT_type, &a) ||
        dwarf_whatform(&a) != DW_FORM_ref_sig8 ||
        !dwarf_formref_die(&a, &target) || target.cu == die->cu)
        return 0;
    if (t->nrefs && t->refs[t->nrefs - 1].from == w->unit &&
        t->refs[t->nrefs - 1].to == target.cu)
        return 0;
    rc = lh_grow((void **)&t->refs, &t->refs_cap, t->nrefs + 1,
                 sizeof *t->refs, 8);
    if (rc)
        return rc;
    t->refs[t->nrefs].from = w->unit;
    t->refs[t->nrefs].to = target.cu;
    t->nrefs++;
    return 0;
}

/* What one DIE contributes: a definition, a type-unit reference, a
 * symbol's declaration. */
static int visit(struct abi_walk *w, Dwarf_Die *die)
{
    int tag = dwarf_tag(die);
    const char *name = dwarf_diename(die);
    Dwarf_Die target;
    int rc = 0;

    if (abi_tag_kind(tag)) {
        if (name && !abi_die_flag(die, DW_AT_declaration))
            rc = abi_add_def(w, die, die, name, 0);
    } else if (tag == DW_TAG_typedef && name &&
               abi_die_type(die, &target) == 0 &&
               abi_tag_kind(dwarf_tag(&target)) && !dwarf_diename(&target) &&
               !abi_die_flag(&target, DW_AT_declaration)) {
        rc = abi_add_def(w, &target, die, name, 1);
    } else if ((tag == DW_TAG_subprogram || tag == DW_TAG_variable) &&
               w->file && w->file->nsyms) {
        rc = abi_syms_visit(w, die, tag);
    }
    if (!rc && w->track)
        rc = track_ref(w, die);
    return rc;
}

/* Visits every DIE under `parent`. */
static int walk_children(struct abi_walk *w, Dwarf_Die *parent, int depth)
{
    Dwarf_Die child, next;
    int rc;

    if (depth > ABI_MAX_DIE_DEPTH || dwarf_child(parent, &child) != 0)
        return 0;
    for (;;) {
        rc = visit(w, &child);
        if (!rc && dwarf_haschildren(&child) > 0)
            rc = walk_children(w, &child, depth + 1);
        if (rc)
            return rc;
        if (abi_next_sibling(&child, &next) != 0)
            break;
        child = next;
    }
    return 0;
}

/* Registers a unit and walks it.  `top` is the unit DIE to walk (the split
 * unit for a skeleton), `outer` the unit DIE in the main file, `label` the
 * unit's name when its DIE has none (type units), else NULL. */
static int read_unit(lh_abicheck *ac, Dwarf_Die *top, Dwarf_Die *outer,
                     const char *label, const char *display, int big_endian,
                     struct abi_tu_track *track)
{
    struct abi_walk w;
    const char *cu_name = dwarf_diename(top);
    int rc;

    memset(&w, 0, sizeof w);
    w.ac = ac;
    w.track = track;
    w.file = ac->cur_file < ac->nfiles ? &ac->files[ac->cur_file] : NULL;
    w.big_endian = big_endian;
    w.comp_dir = abi_die_string(top, DW_AT_comp_dir);
    if (!w.comp_dir)
        w.comp_dir = abi_die_string(outer, DW_AT_comp_dir);
    if (!cu_name)
        cu_name = dwarf_diename(outer);
    if (cu_name) {
        w.cu_path = abi_path_norm(w.comp_dir, cu_name);
        if (!w.cu_path)
            return LH_ENOMEM;
    }
    rc = abi_unit_add(ac, label ? label : cu_name ? cu_name : "?", w.cu_path,
                      display, &w.unit);
    if (!rc && dwarf_getsrcfiles(top, &w.files, &w.nfiles) != 0) {
        w.files = NULL;
        w.nfiles = 0;
    }
    w.files_cu = top->cu;
    if (!rc)
        rc = walk_children(&w, top, 0);
    lh_free(w.cu_path);
    return rc;
}

static int cmp_ref(const void *a, const void *b)
{
    const struct tu_ref *x = a, *y = b;

    if (x->from != y->from)
        return x->from < y->from ? -1 : 1;
    return 0;
}

/* Index of a type unit in the track, or ntus. */
static size_t tu_index_of_cu(const struct abi_tu_track *t, const Dwarf_CU *cu)
{
    size_t i;

    for (i = 0; i < t->ntus; i++)
        if (t->tu_cu[i] == cu)
            return i;
    return t->ntus;
}

/* Index of a type unit by its unit index (tu_unit ascends), or ntus. */
static size_t tu_index_of_unit(const struct abi_tu_track *t, size_t unit)
{
    size_t lo = 0, hi = t->ntus;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (t->tu_unit[mid] < unit)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->ntus && t->tu_unit[lo] == unit ? lo : t->ntus;
}

/* The layouts each type unit defines (units of this Dwarf only). */
static int layouts_by_tu(lh_abicheck *ac, struct abi_tu_track *t,
                         size_t first_unit, lh_abi_layout ***by_tu,
                         size_t *nby_tu)
{
    size_t i, j, k;

    for (i = 0; i < ac->ntypes; i++) {
        lh_abi_type *ty = ac->types[i];

        for (j = 0; j < ty->nlayouts; j++) {
            lh_abi_layout *l = &ty->layouts[j];

            for (k = l->nunits; k > 0 && l->units[k - 1] >= first_unit; k--) {
                size_t tu = tu_index_of_unit(t, l->units[k - 1]);
                lh_abi_layout **p;

                if (tu == t->ntus)
                    continue;
                p = lh_realloc(by_tu[tu], (nby_tu[tu] + 1) * sizeof *p);
                if (!p)
                    return LH_ENOMEM;
                by_tu[tu] = p;
                p[nby_tu[tu]++] = l;
            }
        }
    }
    return 0;
}

/*
 * Adds to every layout read from a type unit the compilation units that
 * refer to that type unit directly.  Only direct references: the linker
 * keeps one copy of each type unit signature, and a C type's signature
 * does not cover the types it points to, so the copy kept may point into
 * another unit's version of them (a unit reaching a type through another
 * type unit is not evidence of which version it was compiled with).
 */
static int attribute_type_units(lh_abicheck *ac, struct abi_tu_track *t,
                                size_t first_unit)
{
    lh_abi_layout ***by_tu = NULL;
    size_t *nby_tu = NULL;
    size_t i, r;
    int rc = LH_ENOMEM;

    qsort(t->refs, t->nrefs, sizeof *t->refs, cmp_ref);
    by_tu = lh_calloc(t->ntus, sizeof *by_tu);
    nby_tu = lh_calloc(t->ntus, sizeof *nby_tu);
    if (!by_tu || !nby_tu)
        goto out;
    rc = layouts_by_tu(ac, t, first_unit, by_tu, nby_tu);
    /* Sorted by referring unit, so abi_layout_add_unit's check of the last
     * unit is enough to add each unit once. */
    for (r = 0; !rc && r < t->nrefs; r++) {
        size_t tu = tu_index_of_cu(t, t->refs[r].to), j;

        if (tu == t->ntus || tu_index_of_unit(t, t->refs[r].from) != t->ntus)
            continue; /* not into a type unit, or from one */
        for (j = 0; !rc && j < nby_tu[tu]; j++)
            rc = abi_layout_add_unit(by_tu[tu][j], t->refs[r].from);
    }
out:
    if (by_tu)
        for (i = 0; i < t->ntus; i++)
            lh_free(by_tu[i]);
    lh_free(by_tu);
    lh_free(nby_tu);
    return rc;
}

/* Reads the split unit whose id is `want` from an open .dwo Dwarf. */
static int read_dwo_unit(lh_abicheck *ac, Dwarf *dd, uint64_t want,
                         Dwarf_Die *skel_die, const char *display,
                         int big_endian)
{
    Dwarf_CU *cu = NULL, *next = NULL;

    for (;;) {
        Dwarf_Half version;
        uint8_t unit_type;
        Dwarf_Die cudie, subdie;
        uint64_t id = 0;

        if (dwarf_get_units(dd, cu, &next, &version, &unit_type, &cudie,
                            &subdie) != 0)
            return LH_ENOTFOUND;
        cu = next;
        if (unit_type != DW_UT_split_compile ||
            dwarf_cu_info(cu, NULL, NULL, NULL, NULL, &id, NULL, NULL) != 0 ||
            id != want)
            continue;
        return read_unit(ac, &cudie, skel_die, NULL, display, big_endian,
                         NULL);
    }
}

/*
 * The fallback for a skeleton unit whose .dwo libdw did not find: a build
 * tree moved with its .dwo files has them beside the input file (or the
 * archive), under the base name of DW_AT_dwo_name.  Reads the split unit
 * whose id matches the skeleton's.  0 when it was read, LH_ENOTFOUND, or
 * LH_ENOMEM.
 */
static int read_moved_dwo(lh_abicheck *ac, Dwarf_CU *skel, Dwarf_Die *skel_die,
                          const char *dwo, const char *display, int big_endian)
{
    char *path = NULL;
    Dwarf *dd = NULL;
    uint64_t want = 0;
    int fd = -1, rc = LH_ENOTFOUND;

    if (!dwo || !ac->search_dir ||
        dwarf_cu_info(skel, NULL, NULL, NULL, NULL, &want, NULL, NULL) != 0)
        return LH_ENOTFOUND;
    path = abi_path_norm(ac->search_dir, abi_base_name(dwo));
    if (!path)
        return LH_ENOMEM;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
        dd = dwarf_begin(fd, DWARF_C_READ);
    if (dd)
        rc = read_dwo_unit(ac, dd, want, skel_die, display, big_endian);
    if (dd)
        dwarf_end(dd);
    if (fd >= 0)
        close(fd);
    lh_free(path);
    return rc;
}

/* A skeleton unit libdw could not complete: try beside the input, else
 * report the missing .dwo.  0 (read), LH_ENOTFOUND or LH_ENOMEM. */
static int missing_split(lh_abicheck *ac, Dwarf_CU *cu, Dwarf_Die *cudie,
                         const char *display, int big_endian)
{
    const char *dwo = abi_die_string(cudie, DW_AT_dwo_name);
    const char *dir = abi_die_string(cudie, DW_AT_comp_dir);
    int rc;

    if (!dwo)
        dwo = abi_die_string(cudie, DW_AT_GNU_dwo_name);
    rc = read_moved_dwo(ac, cu, cudie, dwo, display, big_endian);
    if (rc != LH_ENOTFOUND)
        return rc;
    abi_error(ac,
              "%s: split DWARF file %s not found (looked where the compiler "
              "wrote it, under %s, and beside the file); keep the .dwo files "
              "of a -gsplit-dwarf build with their objects",
              display, dwo ? dwo : "(unnamed)",
              dir ? dir : "(no DW_AT_comp_dir)");
    return LH_ENOTFOUND;
}

/* Registers a type unit in the track before it is read. */
static int track_tu(struct abi_tu_track *t, Dwarf_CU *cu, size_t unit)
{
    int rc = lh_grow((void **)&t->tu_cu, &t->tus_cap, t->ntus + 1,
                     sizeof *t->tu_cu, 8);

    if (!rc)
        rc = lh_grow((void **)&t->tu_unit, &t->tu_unit_cap, t->ntus + 1,
                     sizeof *t->tu_unit, 8);
    if (rc)
        return rc;
    t->tu_cu[t->ntus] = cu;
    t->tu_unit[t->ntus] = unit;
    t->ntus++;
    return 0;
}

/* Reads one unit of the loop in abi_read_dwarf.  0, LH_ENOTFOUND (a
 * missing .dwo: go on), or LH_ENOMEM. */
static int read_one(lh_abicheck *ac, Dwarf_CU *cu, uint8_t unit_type,
                    Dwarf_Die *cudie, Dwarf_Die *subdie, const char *display,
                    int big_endian, struct abi_tu_track *track)
{
    char label[64];
    uint64_t id = 0;
    int rc;

    if (unit_type == DW_UT_skeleton) {
        if (dwarf_tag(subdie) != DW_TAG_compile_unit)
            return missing_split(ac, cu, cudie, display, big_endian);
        return read_unit(ac, subdie, cudie, NULL, display, big_endian, track);
    }
    if (unit_type != DW_UT_type && unit_type != DW_UT_split_type)
        return read_unit(ac, cudie, cudie, NULL, display, big_endian, track);
    /* Type units (-fdebug-types-section) have no name: the signature
     * names them. */
    dwarf_cu_info(cu, NULL, NULL, NULL, NULL, &id, NULL, NULL);
    snprintf(label, sizeof label, "type unit 0x%016" PRIx64, id);
    rc = track_tu(track, cu, ac->nunits);
    return rc ? rc : read_unit(ac, cudie, cudie, label, display, big_endian,
                               track);
}

static int known_unit_type(uint8_t t)
{
    return t == DW_UT_skeleton || t == DW_UT_compile || t == DW_UT_partial ||
           t == DW_UT_type || t == DW_UT_split_compile ||
           t == DW_UT_split_type;
}

/*
 * Reads every unit of a Dwarf.  *nunits counts the units read.  Missing
 * .dwo files are errors (LH_ENOTFOUND after the other units); LH_ENOMEM
 * stops at once.
 */
int abi_read_dwarf(lh_abicheck *ac, Dwarf *dw, const char *display,
                   int big_endian, size_t *nunits)
{
    Dwarf_CU *cu = NULL, *next = NULL;
    struct abi_tu_track track;
    size_t first_unit = ac->nunits;
    int rc = 0, ret = 0;

    memset(&track, 0, sizeof track);
    for (;;) {
        Dwarf_Half version;
        uint8_t unit_type;
        Dwarf_Die cudie, subdie;
        int r = dwarf_get_units(dw, cu, &next, &version, &unit_type, &cudie,
                                &subdie);

        if (r == 1)
            break;
        if (r != 0) {
            abi_error(ac, "%s: cannot read DWARF units: %s", display,
                      dwarf_errmsg(-1));
            ret = LH_EPARSE;
            break;
        }
        cu = next;
        if (!known_unit_type(unit_type))
            continue; /* unknown unit kind: nothing we can read */
        rc = read_one(ac, cu, unit_type, &cudie, &subdie, display, big_endian,
                      &track);
        if (rc == LH_ENOTFOUND) {
            ret = rc;
            rc = 0;
            continue;
        }
        if (rc)
            goto out;
        (*nunits)++;
    }
    if (track.ntus && track.nrefs)
        rc = attribute_type_units(ac, &track, first_unit);
out:
    lh_free(track.refs);
    lh_free(track.tu_cu);
    lh_free(track.tu_unit);
    return rc ? rc : ret;
}

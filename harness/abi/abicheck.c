/*
 * abicheck.c - types with more than one layout across compilation units.
 *
 * Design notes.
 *
 * Reading.  Every ELF image (a file, or one member of an ar archive) goes
 * through libdwfl's offline mode rather than plain dwarf_begin_elf: object
 * files (ET_REL) keep their DWARF string and line-table offsets in
 * relocations, and libdw alone reads them unrelocated (every name would be
 * the first string of .debug_str); libdwfl applies them.  Archives are
 * walked with libelf (elf_begin on the archive, elf_next per member); each
 * member's bytes are copied and handed to dwfl_report_offline_memory, since
 * relocation writes into the image.  A whole ELF file is reported by path,
 * so libdw can find split-DWARF .dwo files relative to it.
 *
 * Robustness.  Before libdwfl sees an image we check its ELF header, the
 * section header table and every section's extent against the image size:
 * a truncated file is reported as such instead of being half-read.  libdw's
 * dwarf_decl_file asserts on split units in elfutils 0.188, so the
 * declaring file is looked up through dwarf_getsrcfiles/dwarf_filesrc
 * instead.  Recursion over DIEs and over type references is bounded, so is
 * the length of a rendered type name, and sibling walks must move forward
 * (a corrupt DW_AT_sibling may point back), so cyclic or deep DWARF from a
 * corrupt file cannot run away.  libFuzzer (tests/fuzz/fuzz_abicheck.c)
 * drives arbitrary bytes through lh_abicheck_add_memory.
 *
 * Data.  Types live in a table keyed by (typedef-or-tag, name, key file),
 * see abicheck.h.  Each type keeps its distinct layouts; a layout is
 * compared through a canonical string (kind, size, members with bit
 * positions and canonical types - through typedefs, base types as encoding
 * and size - and enumerators), hashed with FNV-1a.  A layout seen again
 * only gains a unit index, so a header included by a thousand units costs
 * one layout and a thousand indexes.  Each member keeps its declared
 * spelling for display.
 */
#include "abicheck.h"

#include "alloc.h"
#include "buf.h"
#include "error.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DIE_DEPTH 64
#define MAX_TYPE_DEPTH 12
#define MAX_TYPE_NAME 512
#define MAX_DECL_FILES 8

enum file_status { FILE_OK, FILE_NO_DEBUG, FILE_ERROR };

struct file_rec {
    char *path;
    enum file_status status;
    size_t units;
};

struct lh_abicheck {
    lh_abi_type **types;
    size_t ntypes, types_cap;
    size_t *slots; /* open addressing: type index + 1, 0 = empty */
    size_t nslots;
    lh_abi_unit *units;
    size_t nunits, units_cap;
    char **errors;
    size_t nerrors, errors_cap;
    char **warnings;
    size_t nwarnings, warnings_cap;
    struct file_rec *files;
    size_t nfiles, files_cap;
    char *search_dir; /* directory of the file being read, or NULL */
};

/* What we know while walking one unit. */
/*
 * Type units of one Dwarf and the references into them (DW_FORM_ref_sig8),
 * so that a layout read from a type unit can also name the compilation
 * units that refer to it.
 */
struct tu_ref {
    size_t from;    /* unit index (ac->units) of the referring unit */
    Dwarf_CU *to;   /* the type unit referred to */
};
struct tu_track {
    struct tu_ref *refs;
    size_t nrefs, refs_cap;
    Dwarf_CU **tu_cu; /* type units read, in reading order ... */
    size_t *tu_unit;  /* ... and their unit indexes (ascending) */
    size_t ntus, tus_cap;
};

struct walk {
    struct tu_track *track; /* NULL: no type units to attribute */
    lh_abicheck *ac;
    size_t unit;          /* index in ac->units */
    const char *comp_dir; /* may be NULL */
    char *cu_path;        /* normalised path of the unit's source, or NULL */
    Dwarf_Files *files;   /* the unit's file table, or NULL */
    size_t nfiles;
    int big_endian;
    int resolve; /* type_str looks through typedefs (the canonical form) */
};

/* ---------------------------------------------------------------- helpers */

/* Makes room for one more element in *arr (count n, capacity *cap). */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    size_t ncap;
    void *p;

    if (n < *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 8;
    if (ncap > SIZE_MAX / elem)
        return LH_ENOMEM;
    p = lh_realloc(*arr, ncap * elem);
    if (!p)
        return LH_ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

static uint64_t fnv1a(const char *s, uint64_t h)
{
    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 1099511628211ULL;
    }
    return h;
}

static int buf_puts(lh_buf *b, const char *s)
{
    return lh_buf_append(b, s, strlen(s));
}

static int buf_printf(lh_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int buf_printf(lh_buf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return LH_EINVAL;
    if ((size_t)n >= sizeof tmp)
        n = (int)sizeof tmp - 1;
    return lh_buf_append(b, tmp, (size_t)n);
}

/* A NUL-terminated copy of the buffer's bytes, or NULL. */
static char *buf_strdup(const lh_buf *b)
{
    if (lh_buf_len(b) == 0)
        return lh_strdup(""); /* lh_buf_peek: no storage before an append */
    return lh_strndup((const char *)lh_buf_peek(b), lh_buf_len(b));
}

/* Records a message in *list; a message that cannot be stored for lack of
 * memory is dropped (the caller returns LH_ENOMEM anyway). */
static void add_msg(char ***list, size_t *n, size_t *cap, const char *fmt,
                    va_list ap) __attribute__((format(printf, 4, 0)));
static void add_msg(char ***list, size_t *n, size_t *cap, const char *fmt,
                    va_list ap)
{
    char tmp[1024];

    vsnprintf(tmp, sizeof tmp, fmt, ap);
    if (grow((void **)list, cap, *n, sizeof **list) != 0)
        return;
    (*list)[*n] = lh_strdup(tmp);
    if ((*list)[*n])
        (*n)++;
}

static void error_msg(lh_abicheck *ac, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void error_msg(lh_abicheck *ac, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    add_msg(&ac->errors, &ac->nerrors, &ac->errors_cap, fmt, ap);
    va_end(ap);
}

static void warning_msg(lh_abicheck *ac, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void warning_msg(lh_abicheck *ac, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    add_msg(&ac->warnings, &ac->nwarnings, &ac->warnings_cap, fmt, ap);
    va_end(ap);
}

/*
 * Joins dir and name (name wins when absolute; dir may be NULL) and
 * removes "." and empty components and resolves ".." lexically.  Returns a
 * new string or NULL.
 */
static char *path_norm(const char *dir, const char *name)
{
    size_t dl = (dir && name[0] != '/') ? strlen(dir) : 0;
    size_t nl = strlen(name);
    char *in, *out;
    size_t i = 0, o = 0;
    int absolute;

    in = lh_malloc(dl + nl + 2);
    if (!in)
        return NULL;
    if (dl) {
        memcpy(in, dir, dl);
        in[dl] = '/';
        memcpy(in + dl + 1, name, nl + 1);
    } else {
        memcpy(in, name, nl + 1);
    }
    out = lh_malloc(strlen(in) + 2);
    if (!out) {
        lh_free(in);
        return NULL;
    }
    absolute = in[0] == '/';
    if (absolute)
        out[o++] = '/';
    while (in[i]) {
        size_t start, len;

        while (in[i] == '/')
            i++;
        start = i;
        while (in[i] && in[i] != '/')
            i++;
        len = i - start;
        if (len == 0 || (len == 1 && in[start] == '.'))
            continue;
        if (len == 2 && in[start] == '.' && in[start + 1] == '.') {
            size_t floor = absolute ? 1 : 0;
            size_t back = o;
            int prev_dotdot;

            while (back > floor && out[back - 1] != '/')
                back--;
            prev_dotdot = (o - back == 2 && out[back] == '.' &&
                           out[back + 1] == '.');
            if (o > floor && !prev_dotdot) {
                o = back > floor ? back - 1 : floor;
                continue;
            }
            if (absolute && o == floor)
                continue; /* "/.." is "/" */
        }
        if (o > (absolute ? 1u : 0u))
            out[o++] = '/';
        memcpy(out + o, in + start, len);
        o += len;
    }
    if (o == 0)
        out[o++] = '.';
    out[o] = '\0';
    lh_free(in);
    return out;
}

/* Does the path name a C or C++ source file (not a header)? */
static int is_source_file(const char *path)
{
    static const char *const exts[] = {".c", ".cc", ".cpp", ".cxx", ".C"};
    const char *dot = strrchr(path, '.');
    size_t i;

    if (!dot || strchr(dot, '/'))
        return 0;
    for (i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (strcmp(dot, exts[i]) == 0)
            return 1;
    return 0;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

/* ------------------------------------------------------------ type table */

static void layout_release(lh_abi_layout *l)
{
    size_t i;

    for (i = 0; i < l->nmembers; i++) {
        lh_free(l->members[i].name);
        lh_free(l->members[i].type);
        lh_free(l->members[i].canon_type);
    }
    lh_free(l->members);
    for (i = 0; i < l->nenumerators; i++)
        lh_free(l->enumerators[i].name);
    lh_free(l->enumerators);
    lh_free(l->units);
    for (i = 0; i < l->ndecl_files; i++)
        lh_free(l->decl_files[i]);
    lh_free(l->decl_files);
    lh_free(l->canon);
    memset(l, 0, sizeof *l);
}

static void type_free(lh_abi_type *t)
{
    size_t i;

    if (!t)
        return;
    for (i = 0; i < t->nlayouts; i++)
        layout_release(&t->layouts[i]);
    lh_free(t->layouts);
    lh_free(t->name);
    lh_free(t->header);
    lh_free(t);
}

static uint64_t key_hash(int is_typedef, const char *name, const char *header)
{
    uint64_t h = 1469598103934665603ULL;

    h = fnv1a(is_typedef ? "T" : "t", h);
    h = fnv1a(name, h);
    h = fnv1a("\x1f", h);
    return fnv1a(header, h);
}

static int rehash(lh_abicheck *ac)
{
    size_t nslots = ac->nslots ? ac->nslots * 2 : 64;
    size_t *slots = lh_calloc(nslots, sizeof *slots);
    size_t i;

    if (!slots)
        return LH_ENOMEM;
    for (i = 0; i < ac->ntypes; i++) {
        size_t s = (size_t)ac->types[i]->hash & (nslots - 1);

        while (slots[s])
            s = (s + 1) & (nslots - 1);
        slots[s] = i + 1;
    }
    lh_free(ac->slots);
    ac->slots = slots;
    ac->nslots = nslots;
    return 0;
}

/* Finds or creates the type of a key.  0 and *out, or LH_ENOMEM. */
static int type_get(lh_abicheck *ac, int is_typedef, int is_local,
                    const char *name, const char *header, lh_abi_type **out)
{
    uint64_t h = key_hash(is_typedef, name, header);
    lh_abi_type *t;
    size_t s;
    int rc;

    if (ac->nslots) {
        s = (size_t)h & (ac->nslots - 1);
        while (ac->slots[s]) {
            t = ac->types[ac->slots[s] - 1];
            if (t->hash == h && t->is_typedef == is_typedef &&
                strcmp(t->name, name) == 0 && strcmp(t->header, header) == 0) {
                *out = t;
                return 0;
            }
            s = (s + 1) & (ac->nslots - 1);
        }
    }
    if ((ac->ntypes + 1) * 2 > ac->nslots) {
        rc = rehash(ac);
        if (rc)
            return rc;
    }
    rc = grow((void **)&ac->types, &ac->types_cap, ac->ntypes,
              sizeof *ac->types);
    if (rc)
        return rc;
    t = lh_calloc(1, sizeof *t);
    if (!t)
        return LH_ENOMEM;
    t->name = lh_strdup(name);
    t->header = lh_strdup(header);
    if (!t->name || !t->header) {
        type_free(t);
        return LH_ENOMEM;
    }
    t->is_typedef = is_typedef;
    t->is_local = is_local;
    t->hash = h;
    s = (size_t)h & (ac->nslots - 1);
    while (ac->slots[s])
        s = (s + 1) & (ac->nslots - 1);
    ac->types[ac->ntypes] = t;
    ac->slots[s] = ++ac->ntypes;
    *out = t;
    return 0;
}

static int layout_add_unit(lh_abi_layout *l, size_t unit)
{
    int rc;

    if (l->nunits && l->units[l->nunits - 1] == unit)
        return 0;
    rc = grow((void **)&l->units, &l->units_cap, l->nunits, sizeof *l->units);
    if (rc)
        return rc;
    l->units[l->nunits++] = unit;
    return 0;
}

static int layout_add_decl(lh_abi_layout *l, const char *path)
{
    size_t i;
    char **p;

    for (i = 0; i < l->ndecl_files; i++)
        if (strcmp(l->decl_files[i], path) == 0)
            return 0;
    if (l->ndecl_files >= MAX_DECL_FILES)
        return 0;
    p = lh_realloc(l->decl_files, (l->ndecl_files + 1) * sizeof *p);
    if (!p)
        return LH_ENOMEM;
    l->decl_files = p;
    p[l->ndecl_files] = lh_strdup(path);
    if (!p[l->ndecl_files])
        return LH_ENOMEM;
    l->ndecl_files++;
    return 0;
}

/* ------------------------------------------------------- DIE attributes */

/*
 * The next sibling, 0 when there is one further on.  DW_AT_sibling can
 * point anywhere in a corrupt file; requiring forward progress keeps every
 * loop over siblings finite.
 */
static int next_sibling(Dwarf_Die *die, Dwarf_Die *next)
{
    if (dwarf_siblingof(die, next) != 0)
        return -1;
    return dwarf_dieoffset(next) > dwarf_dieoffset(die) ? 0 : -1;
}

static int die_udata(Dwarf_Die *die, unsigned name, Dwarf_Word *out)
{
    Dwarf_Attribute a;

    if (!dwarf_attr(die, name, &a))
        return -1;
    return dwarf_formudata(&a, out) == 0 ? 0 : -1;
}

static int die_flag(Dwarf_Die *die, unsigned name)
{
    Dwarf_Attribute a;
    bool v = false;

    if (!dwarf_attr(die, name, &a))
        return 0;
    if (dwarf_formflag(&a, &v) != 0)
        return 1; /* present but odd: count it as set */
    return v ? 1 : 0;
}

static int die_type(Dwarf_Die *die, Dwarf_Die *out)
{
    Dwarf_Attribute a;

    if (!dwarf_attr(die, DW_AT_type, &a))
        return -1;
    return dwarf_formref_die(&a, out) ? 0 : -1;
}

static const char *tag_kind(int tag)
{
    switch (tag) {
    case DW_TAG_structure_type:
        return "struct";
    case DW_TAG_union_type:
        return "union";
    case DW_TAG_enumeration_type:
        return "enum";
    case DW_TAG_class_type:
        return "class";
    default:
        return NULL;
    }
}

/* The declaring file of a DIE, normalised, or NULL when unknown. */
static char *decl_path(struct walk *w, Dwarf_Die *die)
{
    Dwarf_Word idx;
    const char *name;

    if (!w->files || die_udata(die, DW_AT_decl_file, &idx) != 0 ||
        idx >= w->nfiles)
        return NULL;
    name = dwarf_filesrc(w->files, idx, NULL, NULL);
    if (!name || !name[0])
        return NULL;
    return path_norm(w->comp_dir, name);
}

/* The byte size of a type, following typedefs and qualifiers; 0 unknown. */
static Dwarf_Word type_bytes(Dwarf_Die *type)
{
    Dwarf_Die peeled;
    Dwarf_Word v;

    if (dwarf_peel_type(type, &peeled) != 0)
        return 0;
    if (die_udata(&peeled, DW_AT_byte_size, &v) != 0)
        return 0;
    return v;
}

/*
 * Position of a member in bits from the start of its struct, and its width
 * (0: not a bit-field).  DWARF 4/5 DW_AT_data_bit_offset is the position;
 * DWARF 2-4 DW_AT_bit_offset counts from the most significant bit of the
 * storage unit at DW_AT_data_member_location, so on little-endian targets it
 * is turned around.  Unsigned arithmetic: corrupt values wrap, never trap.
 */
static void member_pos(struct walk *w, Dwarf_Die *m, uint64_t *bitpos,
                       unsigned *bitsize)
{
    Dwarf_Attribute a;
    Dwarf_Word bsz = 0, loc = 0, v;

    die_udata(m, DW_AT_bit_size, &bsz);
    *bitsize = (unsigned)bsz;
    if (die_udata(m, DW_AT_data_bit_offset, &v) == 0) {
        *bitpos = v;
        return;
    }
    if (dwarf_attr(m, DW_AT_data_member_location, &a)) {
        unsigned form = dwarf_whatform(&a);

        if (form == DW_FORM_block1 || form == DW_FORM_block2 ||
            form == DW_FORM_block4 || form == DW_FORM_block ||
            form == DW_FORM_exprloc) {
            Dwarf_Op *ops;
            size_t nops;

            if (dwarf_getlocation(&a, &ops, &nops) == 0 && nops == 1 &&
                ops[0].atom == DW_OP_plus_uconst)
                loc = ops[0].number;
        } else if (dwarf_formudata(&a, &v) == 0) {
            loc = v;
        }
    }
    *bitpos = (uint64_t)loc * 8u;
    if (bsz && dwarf_attr(m, DW_AT_bit_offset, &a)) {
        Dwarf_Sword bo = 0;
        Dwarf_Word storage = 0;
        Dwarf_Die type;

        dwarf_formsdata(&a, &bo);
        if (die_udata(m, DW_AT_byte_size, &storage) != 0 &&
            die_type(m, &type) == 0)
            storage = type_bytes(&type);
        if (w->big_endian)
            *bitpos += (uint64_t)bo;
        else
            *bitpos += (uint64_t)storage * 8u - (uint64_t)bo - (uint64_t)bsz;
    }
}

static int type_str(struct walk *w, Dwarf_Die *type, lh_buf *b, int depth);

/* Short names of base-type encodings, for the canonical form. */
static const char *encoding_name(Dwarf_Word enc)
{
    switch (enc) {
    case DW_ATE_boolean:
        return "bool";
    case DW_ATE_float:
        return "float";
    case DW_ATE_complex_float:
        return "complex";
    case DW_ATE_signed:
        return "int";
    case DW_ATE_signed_char:
        return "schar";
    case DW_ATE_unsigned:
        return "uint";
    case DW_ATE_unsigned_char:
        return "uchar";
    case DW_ATE_UTF:
        return "utf";
    default:
        return "enc?";
    }
}

static int enum_signed(Dwarf_Die *en);
static int64_t enumerator_value(Dwarf_Attribute *a, int is_signed);

/* "struct {int a@0; unsigned int b:3@4.0; }" for an anonymous aggregate:
 * members with byte offsets (and bit-fields' width and first bit). */
static int anon_body(struct walk *w, Dwarf_Die *die, lh_buf *b, int depth)
{
    Dwarf_Die child, next, mt;
    int rc, tag = dwarf_tag(die);

    rc = buf_puts(b, " {");
    if (rc)
        return rc;
    if (dwarf_child(die, &child) != 0)
        return buf_puts(b, "}");
    for (;;) {
        int ctag = dwarf_tag(&child);
        const char *n = dwarf_diename(&child);

        if (lh_buf_len(b) > MAX_TYPE_NAME)
            return buf_puts(b, "...}");
        if (ctag == DW_TAG_member) {
            uint64_t pos = 0;
            unsigned bits = 0;

            member_pos(w, &child, &pos, &bits);
            rc = die_type(&child, &mt) == 0 ? type_str(w, &mt, b, depth + 1)
                                            : buf_puts(b, "void");
            if (!rc)
                rc = buf_printf(b, " %s", n ? n : "");
            if (!rc && bits)
                rc = buf_printf(b, ":%u@%" PRIu64 ".%u; ", bits, pos / 8u,
                                (unsigned)(pos % 8u));
            else if (!rc)
                rc = buf_printf(b, "@%" PRIu64 "; ", pos / 8u);
        } else if (ctag == DW_TAG_enumerator && tag == DW_TAG_enumeration_type) {
            Dwarf_Attribute a;
            int64_t v = 0;

            if (dwarf_attr(&child, DW_AT_const_value, &a))
                v = enumerator_value(&a, enum_signed(die));
            rc = buf_printf(b, "%s=%" PRId64 "; ", n ? n : "", v);
        }
        if (rc)
            return rc;
        if (next_sibling(&child, &next) != 0)
            break;
        child = next;
    }
    return buf_puts(b, "}");
}

/*
 * Spells a type C-like but unambiguously: qualifiers and declarators are
 * suffixes ("char const *", "int[4]", "int(int, char *) *").  Typedefs stay
 * names; anonymous aggregates are spelled out with their layout.
 */
static int type_str(struct walk *w, Dwarf_Die *type, lh_buf *b, int depth)
{
    Dwarf_Die target, child, next;
    const char *name = dwarf_diename(type);
    const char *kind;
    int tag = dwarf_tag(type);
    int has_target, rc = 0, first = 1;

    if (depth > MAX_TYPE_DEPTH || lh_buf_len(b) > MAX_TYPE_NAME)
        return buf_puts(b, "...");
    has_target = die_type(type, &target) == 0;
    switch (tag) {
    case DW_TAG_typedef:
        /* The canonical form sees through typedefs (size_t and __size_t
         * are one type), except to an anonymous aggregate, which the
         * typedef's name stands for (it is checked as a type of its own). */
        if (w->resolve && has_target &&
            !(tag_kind(dwarf_tag(&target)) && !dwarf_diename(&target)))
            return type_str(w, &target, b, depth + 1);
        return buf_puts(b, name ? name : "?");
    case DW_TAG_base_type:
        /* Compilers spell base types differently ("long unsigned int",
         * "unsigned long"): the canonical form is encoding and size. */
        if (w->resolve) {
            Dwarf_Word enc = 0, size = 0;

            if (die_udata(type, DW_AT_encoding, &enc) == 0 &&
                die_udata(type, DW_AT_byte_size, &size) == 0)
                return buf_printf(b, "<%s%" PRIu64 ">", encoding_name(enc),
                                  (uint64_t)size);
        }
        return buf_puts(b, name ? name : "?");
    case DW_TAG_unspecified_type:
        return buf_puts(b, name ? name : "?");
    case DW_TAG_structure_type:
    case DW_TAG_union_type:
    case DW_TAG_enumeration_type:
    case DW_TAG_class_type:
        kind = tag_kind(tag);
        if (name)
            return buf_printf(b, "%s %s", kind, name);
        rc = buf_puts(b, kind);
        if (rc)
            return rc;
        return anon_body(w, type, b, depth);
    case DW_TAG_pointer_type:
    case DW_TAG_reference_type:
    case DW_TAG_rvalue_reference_type:
        rc = has_target ? type_str(w, &target, b, depth + 1)
                        : buf_puts(b, "void");
        if (rc)
            return rc;
        return buf_puts(b, tag == DW_TAG_pointer_type ? " *"
                           : tag == DW_TAG_reference_type ? " &"
                                                          : " &&");
    case DW_TAG_const_type:
    case DW_TAG_volatile_type:
    case DW_TAG_restrict_type:
    case DW_TAG_atomic_type:
        rc = has_target ? type_str(w, &target, b, depth + 1)
                        : buf_puts(b, "void");
        if (rc)
            return rc;
        return buf_puts(b, tag == DW_TAG_const_type      ? " const"
                           : tag == DW_TAG_volatile_type ? " volatile"
                           : tag == DW_TAG_restrict_type ? " restrict"
                                                         : " _Atomic");
    case DW_TAG_array_type:
        rc = has_target ? type_str(w, &target, b, depth + 1)
                        : buf_puts(b, "?");
        if (rc || dwarf_child(type, &child) != 0)
            return rc ? rc : buf_puts(b, "[]");
        for (;;) {
            Dwarf_Word n;

            if (dwarf_tag(&child) == DW_TAG_subrange_type) {
                if (die_udata(&child, DW_AT_count, &n) == 0)
                    rc = buf_printf(b, "[%" PRIu64 "]", (uint64_t)n);
                else if (die_udata(&child, DW_AT_upper_bound, &n) == 0)
                    rc = buf_printf(b, "[%" PRIu64 "]", (uint64_t)n + 1u);
                else
                    rc = buf_puts(b, "[]");
                if (rc || lh_buf_len(b) > MAX_TYPE_NAME)
                    return rc;
            }
            if (next_sibling(&child, &next) != 0)
                break;
            child = next;
        }
        return 0;
    case DW_TAG_subroutine_type:
        rc = has_target ? type_str(w, &target, b, depth + 1)
                        : buf_puts(b, "void");
        if (!rc)
            rc = buf_puts(b, "(");
        if (!rc && dwarf_child(type, &child) == 0) {
            for (;;) {
                int ctag = dwarf_tag(&child);
                Dwarf_Die pt;

                if (ctag == DW_TAG_formal_parameter ||
                    ctag == DW_TAG_unspecified_parameters) {
                    if (!first)
                        rc = buf_puts(b, ", ");
                    first = 0;
                    if (!rc && ctag == DW_TAG_unspecified_parameters)
                        rc = buf_puts(b, "...");
                    else if (!rc && die_type(&child, &pt) == 0)
                        rc = type_str(w, &pt, b, depth + 1);
                    if (rc || lh_buf_len(b) > MAX_TYPE_NAME)
                        break;
                }
                if (next_sibling(&child, &next) != 0)
                    break;
                child = next;
            }
        }
        return rc ? rc : buf_puts(b, ")");
    default:
        return buf_printf(b, "<tag 0x%x>", (unsigned)tag);
    }
}

/* Is the enumeration's underlying type signed?  C's default (int) when
 * DWARF does not say. */
static int enum_signed(Dwarf_Die *en)
{
    Dwarf_Die t, peeled;
    Dwarf_Word enc;

    if (die_type(en, &t) == 0 && dwarf_peel_type(&t, &peeled) == 0 &&
        die_udata(&peeled, DW_AT_encoding, &enc) == 0)
        return enc == DW_ATE_signed || enc == DW_ATE_signed_char;
    if (die_udata(en, DW_AT_encoding, &enc) == 0)
        return enc == DW_ATE_signed || enc == DW_ATE_signed_char;
    return 1;
}

/* An enumerator's value: fixed-size forms carry no sign, so it comes from
 * the enumeration's type. */
static int64_t enumerator_value(Dwarf_Attribute *a, int is_signed)
{
    Dwarf_Word u = 0;
    Dwarf_Sword s = 0;

    switch (dwarf_whatform(a)) {
    case DW_FORM_sdata:
    case DW_FORM_implicit_const:
        dwarf_formsdata(a, &s);
        return (int64_t)s;
    case DW_FORM_data1:
        dwarf_formudata(a, &u);
        return is_signed ? (int64_t)(int8_t)(uint8_t)u : (int64_t)u;
    case DW_FORM_data2:
        dwarf_formudata(a, &u);
        return is_signed ? (int64_t)(int16_t)(uint16_t)u : (int64_t)u;
    case DW_FORM_data4:
        dwarf_formudata(a, &u);
        return is_signed ? (int64_t)(int32_t)(uint32_t)u : (int64_t)u;
    default:
        dwarf_formudata(a, &u);
        return (int64_t)u;
    }
}

/* Fills l (zeroed by the caller) from a struct/union/class/enum DIE. */
static int collect_layout(struct walk *w, Dwarf_Die *die, lh_abi_layout *l)
{
    lh_buf tb = LH_BUF_INIT, canon = LH_BUF_INIT;
    Dwarf_Die child, next, mt;
    Dwarf_Word size = 0;
    size_t mcap = 0, ecap = 0;
    int tag = dwarf_tag(die);
    int is_signed = tag == DW_TAG_enumeration_type ? enum_signed(die) : 0;
    int rc = 0;

    l->kind = tag_kind(tag);
    die_udata(die, DW_AT_byte_size, &size);
    l->size = size;
    rc = buf_printf(&canon, "%s %" PRIu64 "|", l->kind, l->size);
    if (rc || dwarf_child(die, &child) != 0)
        goto done;
    for (;;) {
        int ctag = dwarf_tag(&child);
        const char *n = dwarf_diename(&child);

        if (ctag == DW_TAG_member || ctag == DW_TAG_inheritance) {
            lh_abi_member *m;
            int has_type;

            rc = grow((void **)&l->members, &mcap, l->nmembers,
                      sizeof *l->members);
            if (rc)
                goto out;
            m = &l->members[l->nmembers];
            memset(m, 0, sizeof *m);
            l->nmembers++;
            {
                uint64_t pos = 0;
                unsigned bits = 0;

                member_pos(w, &child, &pos, &bits);
                m->offset = pos / 8u;
                m->bit_offset = bits ? (unsigned)(pos % 8u) : 0u;
                m->bit_size = bits;
            }
            has_type = die_type(&child, &mt) == 0;
            lh_buf_reset(&tb);
            w->resolve = 0;
            rc = has_type ? type_str(w, &mt, &tb, 0) : buf_puts(&tb, "void");
            if (rc)
                goto out;
            m->type = buf_strdup(&tb);
            lh_buf_reset(&tb);
            w->resolve = 1;
            rc = has_type ? type_str(w, &mt, &tb, 0) : buf_puts(&tb, "void");
            w->resolve = 0;
            if (rc)
                goto out;
            m->canon_type = buf_strdup(&tb);
            if (!m->canon_type) {
                rc = LH_ENOMEM;
                goto out;
            }
            m->name = lh_strdup(ctag == DW_TAG_inheritance ? "<base>"
                                : n                        ? n
                                                           : "");
            if (!m->type || !m->name) {
                rc = LH_ENOMEM;
                goto out;
            }
            rc = buf_printf(&canon, "%s:", m->name);
            if (!rc && lh_buf_len(&tb))
                rc = lh_buf_append(&canon, lh_buf_peek(&tb), lh_buf_len(&tb));
            if (!rc)
                rc = buf_printf(&canon, "@%" PRIu64 ".%u:%u;", m->offset,
                                m->bit_offset, m->bit_size);
        } else if (ctag == DW_TAG_enumerator) {
            Dwarf_Attribute a;
            lh_abi_enumerator *e;

            rc = grow((void **)&l->enumerators, &ecap, l->nenumerators,
                      sizeof *l->enumerators);
            if (rc)
                goto out;
            e = &l->enumerators[l->nenumerators];
            e->value = dwarf_attr(&child, DW_AT_const_value, &a)
                           ? enumerator_value(&a, is_signed)
                           : 0;
            e->name = lh_strdup(n ? n : "");
            if (!e->name) {
                rc = LH_ENOMEM;
                goto out;
            }
            l->nenumerators++;
            rc = buf_printf(&canon, "%s=%" PRId64 ";", e->name, e->value);
        }
        if (rc)
            goto out;
        if (next_sibling(&child, &next) != 0)
            break;
        child = next;
    }
done:
    if (rc)
        goto out;
    l->canon = buf_strdup(&canon);
    if (!l->canon) {
        rc = LH_ENOMEM;
        goto out;
    }
    l->hash = fnv1a(l->canon, 1469598103934665603ULL);
out:
    lh_buf_free(&tb);
    lh_buf_free(&canon);
    return rc;
}

/*
 * Records one definition: `def` is the struct/union/enum DIE, `name` its
 * tag name or the name of the typedef that names it.
 */
static int add_def(struct walk *w, Dwarf_Die *def, Dwarf_Die *namer,
                   const char *name, int is_typedef)
{
    lh_abi_layout l;
    lh_abi_type *t;
    lh_buf hb = LH_BUF_INIT;
    char *decl, *header = NULL;
    int is_local, rc;
    size_t i;

    memset(&l, 0, sizeof l);
    decl = decl_path(w, def);
    if (!decl && namer != def)
        decl = decl_path(w, namer);
    is_local = decl && ((w->cu_path && strcmp(decl, w->cu_path) == 0) ||
                        is_source_file(decl));
    /* A header is keyed by base name; a source file's types are the unit's
     * own, keyed by path (and by the including unit for a .c file that
     * another includes, like glibc's vfprintf-internal.c). */
    rc = buf_puts(&hb, !decl ? "?" : is_local ? decl : base_name(decl));
    if (!rc && is_local && w->cu_path && strcmp(decl, w->cu_path) != 0) {
        rc = buf_puts(&hb, " (included in ");
        if (!rc)
            rc = buf_puts(&hb, w->cu_path);
        if (!rc)
            rc = buf_puts(&hb, ")");
    }
    if (rc)
        goto out;
    header = buf_strdup(&hb);
    if (!header) {
        rc = LH_ENOMEM;
        goto out;
    }
    rc = collect_layout(w, def, &l);
    if (rc)
        goto out;
    rc = type_get(w->ac, is_typedef, is_local, name, header, &t);
    if (rc)
        goto out;
    for (i = 0; i < t->nlayouts; i++) {
        lh_abi_layout *have = &t->layouts[i];

        if (have->hash == l.hash && strcmp(have->canon, l.canon) == 0) {
            rc = layout_add_unit(have, w->unit);
            if (!rc && decl)
                rc = layout_add_decl(have, decl);
            goto out;
        }
    }
    rc = grow((void **)&t->layouts, &t->layouts_cap, t->nlayouts,
              sizeof *t->layouts);
    if (rc)
        goto out;
    t->layouts[t->nlayouts] = l;
    memset(&l, 0, sizeof l);
    t->nlayouts++;
    rc = layout_add_unit(&t->layouts[t->nlayouts - 1], w->unit);
    if (!rc && decl)
        rc = layout_add_decl(&t->layouts[t->nlayouts - 1], decl);
out:
    layout_release(&l);
    lh_free(decl);
    lh_free(header);
    lh_buf_free(&hb);
    return rc;
}

/* Notes a DW_AT_type that refers into a type unit by signature. */
static int track_ref(struct walk *w, Dwarf_Die *die)
{
    struct tu_track *t = w->track;
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
    rc = grow((void **)&t->refs, &t->refs_cap, t->nrefs, sizeof *t->refs);
    if (rc)
        return rc;
    t->refs[t->nrefs].from = w->unit;
    t->refs[t->nrefs].to = target.cu;
    t->nrefs++;
    return 0;
}

/* Visits every DIE under `parent`, recording type definitions. */
static int walk_children(struct walk *w, Dwarf_Die *parent, int depth)
{
    Dwarf_Die child, next, target;
    int rc = 0;

    if (depth > MAX_DIE_DEPTH || dwarf_child(parent, &child) != 0)
        return 0;
    for (;;) {
        int tag = dwarf_tag(&child);
        const char *name = dwarf_diename(&child);

        if (tag_kind(tag)) {
            if (name && !die_flag(&child, DW_AT_declaration))
                rc = add_def(w, &child, &child, name, 0);
        } else if (tag == DW_TAG_typedef && name &&
                   die_type(&child, &target) == 0 &&
                   tag_kind(dwarf_tag(&target)) && !dwarf_diename(&target) &&
                   !die_flag(&target, DW_AT_declaration)) {
            rc = add_def(w, &target, &child, name, 1);
        }
        if (!rc && w->track)
            rc = track_ref(w, &child);
        if (rc)
            return rc;
        if (dwarf_haschildren(&child) > 0) {
            rc = walk_children(w, &child, depth + 1);
            if (rc)
                return rc;
        }
        if (next_sibling(&child, &next) != 0)
            break;
        child = next;
    }
    return 0;
}

static const char *die_string(Dwarf_Die *die, unsigned name)
{
    Dwarf_Attribute a;

    if (!dwarf_attr(die, name, &a))
        return NULL;
    return dwarf_formstring(&a);
}

/* Registers a unit and walks it.  `top` is the unit DIE to walk (the split
 * unit for a skeleton), `outer` the unit DIE in the main file, `label` the
 * unit's name when its DIE has none (type units), else NULL. */
static int read_unit(lh_abicheck *ac, Dwarf_Die *top, Dwarf_Die *outer,
                     const char *label, const char *display, int big_endian,
                     struct tu_track *track)
{
    struct walk w;
    lh_abi_unit *u;
    const char *cu_name = dwarf_diename(top);
    int rc;

    memset(&w, 0, sizeof w);
    w.ac = ac;
    w.track = track;
    w.big_endian = big_endian;
    w.comp_dir = die_string(top, DW_AT_comp_dir);
    if (!w.comp_dir)
        w.comp_dir = die_string(outer, DW_AT_comp_dir);
    if (!cu_name)
        cu_name = dwarf_diename(outer);
    rc = grow((void **)&ac->units, &ac->units_cap, ac->nunits,
              sizeof *ac->units);
    if (rc)
        return rc;
    u = &ac->units[ac->nunits];
    u->cu = lh_strdup(label ? label : cu_name ? cu_name : "?");
    u->file = lh_strdup(display);
    if (!u->cu || !u->file) {
        lh_free(u->cu);
        lh_free(u->file);
        return LH_ENOMEM;
    }
    w.unit = ac->nunits++;
    if (cu_name) {
        w.cu_path = path_norm(w.comp_dir, cu_name);
        if (!w.cu_path)
            return LH_ENOMEM;
    }
    if (dwarf_getsrcfiles(top, &w.files, &w.nfiles) != 0) {
        w.files = NULL;
        w.nfiles = 0;
    }
    rc = walk_children(&w, top, 0);
    lh_free(w.cu_path);
    return rc;
}

/* Keeps a parallel array at the capacity `cap` its sibling just grew to. */
static int grow_same(void **arr, size_t cap, size_t elem)
{
    void *p = lh_realloc(*arr, cap * elem);

    if (!p)
        return LH_ENOMEM;
    *arr = p;
    return 0;
}

static int cmp_ref(const void *a, const void *b)
{
    const struct tu_ref *x = a, *y = b;

    if (x->from != y->from)
        return x->from < y->from ? -1 : 1;
    return 0;
}

/* Index of a type unit in the track, or ntus. */
static size_t tu_index_of_cu(const struct tu_track *t, const Dwarf_CU *cu)
{
    size_t i;

    for (i = 0; i < t->ntus; i++)
        if (t->tu_cu[i] == cu)
            return i;
    return t->ntus;
}

/* Index of a type unit by its unit index (tu_unit ascends), or ntus. */
static size_t tu_index_of_unit(const struct tu_track *t, size_t unit)
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

/*
 * Adds to every layout read from a type unit the compilation units that
 * refer to that type unit directly.  Only direct references: the linker
 * keeps one copy of each type unit signature, and a C type's signature
 * does not cover the types it points to, so the copy kept may point into
 * another unit's version of them (a unit reaching a type through another
 * type unit is not evidence of which version it was compiled with).
 */
static int attribute_type_units(lh_abicheck *ac, struct tu_track *t,
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
    /* The layouts each type unit defines (units of this Dwarf only). */
    for (i = 0; i < ac->ntypes; i++) {
        lh_abi_type *ty = ac->types[i];
        size_t j, k;

        for (j = 0; j < ty->nlayouts; j++) {
            lh_abi_layout *l = &ty->layouts[j];

            for (k = l->nunits; k > 0 && l->units[k - 1] >= first_unit; k--) {
                size_t tu = tu_index_of_unit(t, l->units[k - 1]);
                lh_abi_layout **p;

                if (tu == t->ntus)
                    continue;
                p = lh_realloc(by_tu[tu], (nby_tu[tu] + 1) * sizeof *p);
                if (!p)
                    goto out;
                by_tu[tu] = p;
                p[nby_tu[tu]++] = l;
            }
        }
    }
    /* Sorted by referring unit, so layout_add_unit's check of the last
     * unit is enough to add each unit once. */
    for (r = 0; r < t->nrefs; r++) {
        size_t tu = tu_index_of_cu(t, t->refs[r].to), j;

        if (tu == t->ntus || tu_index_of_unit(t, t->refs[r].from) != t->ntus)
            continue; /* not into a type unit, or from one */
        for (j = 0; j < nby_tu[tu]; j++) {
            rc = layout_add_unit(by_tu[tu][j], t->refs[r].from);
            if (rc)
                goto out;
        }
    }
    rc = 0;
out:
    if (by_tu)
        for (i = 0; i < t->ntus; i++)
            lh_free(by_tu[i]);
    lh_free(by_tu);
    lh_free(nby_tu);
    return rc;
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
    Dwarf_CU *cu = NULL, *next = NULL;
    uint64_t want = 0;
    int fd = -1, rc = LH_ENOTFOUND;

    if (!dwo || !ac->search_dir ||
        dwarf_cu_info(skel, NULL, NULL, NULL, NULL, &want, NULL, NULL) != 0)
        return LH_ENOTFOUND;
    path = path_norm(ac->search_dir, base_name(dwo));
    if (!path)
        return LH_ENOMEM;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        goto out;
    dd = dwarf_begin(fd, DWARF_C_READ);
    if (!dd)
        goto out;
    for (;;) {
        Dwarf_Half version;
        uint8_t unit_type;
        Dwarf_Die cudie, subdie;
        uint64_t id = 0;

        if (dwarf_get_units(dd, cu, &next, &version, &unit_type, &cudie,
                            &subdie) != 0)
            break;
        cu = next;
        if (unit_type != DW_UT_split_compile ||
            dwarf_cu_info(cu, NULL, NULL, NULL, NULL, &id, NULL, NULL) != 0 ||
            id != want)
            continue;
        rc = read_unit(ac, &cudie, skel_die, NULL, display, big_endian,
                       NULL);
        break;
    }
out:
    if (dd)
        dwarf_end(dd);
    if (fd >= 0)
        close(fd);
    lh_free(path);
    return rc;
}

/*
 * Reads every unit of a Dwarf.  *nunits counts the units read.  Missing
 * .dwo files are errors (LH_ENOTFOUND after the other units); LH_ENOMEM
 * stops at once.
 */
static int read_dwarf(lh_abicheck *ac, Dwarf *dw, const char *display,
                      int big_endian, size_t *nunits)
{
    Dwarf_CU *cu = NULL, *next = NULL;
    struct tu_track track;
    size_t first_unit = ac->nunits;
    char type_label[64];
    const char *label;
    int rc = 0, ret = 0;

    memset(&track, 0, sizeof track);

    for (;;) {
        Dwarf_Half version;
        uint8_t unit_type;
        Dwarf_Die cudie, subdie, *top = &cudie;
        int r;

        r = dwarf_get_units(dw, cu, &next, &version, &unit_type, &cudie,
                            &subdie);
        if (r == 1)
            break;
        if (r != 0) {
            error_msg(ac, "%s: cannot read DWARF units: %s", display,
                      dwarf_errmsg(-1));
            ret = LH_EPARSE;
            break;
        }
        cu = next;
        if (unit_type == DW_UT_skeleton) {
            if (dwarf_tag(&subdie) != DW_TAG_compile_unit) {
                const char *dwo = die_string(&cudie, DW_AT_dwo_name);
                const char *dir = die_string(&cudie, DW_AT_comp_dir);

                if (!dwo)
                    dwo = die_string(&cudie, DW_AT_GNU_dwo_name);
                rc = read_moved_dwo(ac, cu, &cudie, dwo, display, big_endian);
                if (rc == 0) {
                    (*nunits)++;
                    continue;
                }
                if (rc == LH_ENOMEM)
                    goto out;
                rc = 0;
                error_msg(ac,
                          "%s: split DWARF file %s not found (looked where "
                          "the compiler wrote it, under %s, and beside the "
                          "file); keep the .dwo files of a -gsplit-dwarf "
                          "build with their objects",
                          display, dwo ? dwo : "(unnamed)",
                          dir ? dir : "(no DW_AT_comp_dir)");
                ret = LH_ENOTFOUND;
                continue;
            }
            top = &subdie;
        } else if (unit_type != DW_UT_compile && unit_type != DW_UT_partial &&
                   unit_type != DW_UT_type &&
                   unit_type != DW_UT_split_compile &&
                   unit_type != DW_UT_split_type) {
            continue; /* unknown unit kind: nothing we can read */
        }
        label = NULL;
        if (unit_type == DW_UT_type || unit_type == DW_UT_split_type) {
            /* Type units (-fdebug-types-section) have no name: the
             * signature names them. */
            uint64_t id = 0;

            dwarf_cu_info(cu, NULL, NULL, NULL, NULL, &id, NULL, NULL);
            snprintf(type_label, sizeof type_label,
                     "type unit 0x%016" PRIx64, id);
            label = type_label;
        }
        if (label) {
            rc = grow((void **)&track.tu_cu, &track.tus_cap, track.ntus,
                      sizeof *track.tu_cu);
            if (!rc)
                rc = grow_same((void **)&track.tu_unit, track.tus_cap,
                               sizeof *track.tu_unit);
            if (rc)
                goto out;
            track.tu_cu[track.ntus] = cu;
            track.tu_unit[track.ntus] = ac->nunits;
            track.ntus++;
        }
        rc = read_unit(ac, top, &cudie, label, display, big_endian, &track);
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

/* ------------------------------------------------------------ ELF input */

static int has_debug_section(Elf *elf)
{
    Elf_Scn *scn = NULL;
    size_t shstrndx;

    if (elf_getshdrstrndx(elf, &shstrndx) != 0)
        return 0;
    for (;;) {
        GElf_Shdr sh;
        const char *n;

        scn = elf_nextscn(elf, scn);
        if (!scn)
            return 0;
        if (!gelf_getshdr(scn, &sh))
            continue;
        n = elf_strptr(elf, shstrndx, sh.sh_name);
        if (n && (strcmp(n, ".debug_info") == 0 ||
                  strcmp(n, ".zdebug_info") == 0 ||
                  strcmp(n, ".debug_info.dwo") == 0))
            return 1;
    }
}

/* The file name in a stripped file's .gnu_debuglink, or NULL. */
static const char *debuglink(Elf *elf)
{
    Elf_Scn *scn = NULL;
    size_t shstrndx;

    if (elf_getshdrstrndx(elf, &shstrndx) != 0)
        return NULL;
    for (;;) {
        GElf_Shdr sh;
        Elf_Data *d;
        const char *n;

        scn = elf_nextscn(elf, scn);
        if (!scn)
            return NULL;
        if (!gelf_getshdr(scn, &sh))
            continue;
        n = elf_strptr(elf, shstrndx, sh.sh_name);
        if (!n || strcmp(n, ".gnu_debuglink") != 0)
            continue;
        d = elf_getdata(scn, NULL);
        if (!d || !d->d_buf || d->d_size < 2 ||
            !memchr(d->d_buf, '\0', d->d_size) || !((char *)d->d_buf)[0])
            return NULL;
        return d->d_buf;
    }
}

/*
 * Does a relocatable object keep DWARF units in COMDAT section groups?
 * GCC's -fdebug-types-section puts each type unit in its own group; libdw
 * reads only the ungrouped sections of an object (the linker merges the
 * groups, so linked programs and libraries are complete).
 */
static int has_grouped_debug(Elf *elf)
{
    GElf_Ehdr eh;
    Elf_Scn *scn = NULL;
    size_t shstrndx;

    if (!gelf_getehdr(elf, &eh) || eh.e_type != ET_REL ||
        elf_getshdrstrndx(elf, &shstrndx) != 0)
        return 0;
    for (;;) {
        GElf_Shdr sh;
        const char *n;

        scn = elf_nextscn(elf, scn);
        if (!scn)
            return 0;
        if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_GROUP))
            continue;
        n = elf_strptr(elf, shstrndx, sh.sh_name);
        if (n && (strcmp(n, ".debug_info") == 0 ||
                  strcmp(n, ".debug_types") == 0))
            return 1;
    }
}

/*
 * Checks an ELF image's header, section header table and section extents
 * against its size.  0, or LH_EPARSE with the reason recorded.
 */
static int check_elf(lh_abicheck *ac, Elf *elf, const char *display)
{
    GElf_Ehdr eh;
    size_t rawsize = 0, shnum = 0, shstrndx = 0, i;

    if (!elf_rawfile(elf, &rawsize)) {
        error_msg(ac, "%s: cannot read ELF image: %s", display, elf_errmsg(-1));
        return LH_EPARSE;
    }
    if (!gelf_getehdr(elf, &eh)) {
        error_msg(ac, "%s: corrupt ELF header: %s", display, elf_errmsg(-1));
        return LH_EPARSE;
    }
    if (elf_getshdrnum(elf, &shnum) != 0) {
        error_msg(ac, "%s: corrupt ELF section header table: %s", display,
                  elf_errmsg(-1));
        return LH_EPARSE;
    }
    /* libelf quietly reports no sections when the table lies past the end,
     * so the header's own fields are checked (e_shnum 0 with e_shoff set is
     * extended numbering: at least entry 0 must be there). */
    if (eh.e_shnum && !shnum)
        shnum = eh.e_shnum;
    if ((shnum || eh.e_shoff) &&
        (eh.e_shoff > rawsize || eh.e_shentsize == 0 ||
         (shnum ? shnum : 1) > (rawsize - eh.e_shoff) / eh.e_shentsize)) {
        error_msg(ac,
                  "%s: truncated ELF: the section header table ends past the "
                  "end of the file (%zu bytes)",
                  display, rawsize);
        return LH_EPARSE;
    }
    if (shnum && elf_getshdrstrndx(elf, &shstrndx) != 0) {
        error_msg(ac, "%s: corrupt ELF section names: %s", display,
                  elf_errmsg(-1));
        return LH_EPARSE;
    }
    for (i = 1; i < shnum; i++) {
        Elf_Scn *scn = elf_getscn(elf, i);
        GElf_Shdr sh;

        if (!scn || !gelf_getshdr(scn, &sh)) {
            error_msg(ac, "%s: corrupt ELF section header %zu: %s", display, i,
                      elf_errmsg(-1));
            return LH_EPARSE;
        }
        if (sh.sh_type != SHT_NOBITS && sh.sh_size &&
            (sh.sh_offset > rawsize || sh.sh_size > rawsize - sh.sh_offset)) {
            const char *n = elf_strptr(elf, shstrndx, sh.sh_name);

            error_msg(ac,
                      "%s: truncated ELF: section %s ends past the end of the "
                      "file (%zu bytes)",
                      display, n ? n : "?", rawsize);
            return LH_EPARSE;
        }
    }
    return 0;
}

static char *debuginfo_path;
static const Dwfl_Callbacks offline_callbacks = {
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

/*
 * Reads the DWARF of one checked ELF image through libdwfl: by path when
 * `path` is set, else from `image` (writable, `size` bytes; relocation
 * writes into it).  `elf` is our own handle on the same image, for the
 * no-debug-info test.  *nunits counts the units read.
 */
static int read_image(lh_abicheck *ac, Elf *elf, const char *display,
                      const char *path, char *image, size_t size,
                      size_t *nunits)
{
    Dwfl *dwfl;
    Dwfl_Module *mod;
    Dwarf *dw;
    Dwarf_Addr bias;
    const char *ident;
    int rc = 0;

    dwfl = dwfl_begin(&offline_callbacks);
    if (!dwfl)
        return LH_ENOMEM;
    if (path)
        mod = dwfl_report_offline(dwfl, display, path, -1);
    else
        mod = dwfl_report_offline_memory(dwfl, display, display, image, size);
    if (!mod) {
        error_msg(ac, "%s: cannot read: %s", display, dwfl_errmsg(-1));
        rc = LH_EPARSE;
        goto out;
    }
    if (dwfl_report_end(dwfl, NULL, NULL) != 0) {
        error_msg(ac, "%s: cannot read: %s", display, dwfl_errmsg(-1));
        rc = LH_EPARSE;
        goto out;
    }
    dw = dwfl_module_getdwarf(mod, &bias);
    if (!dw) {
        if (has_debug_section(elf)) {
            error_msg(ac, "%s: cannot read DWARF: %s", display,
                      dwfl_errmsg(-1));
            rc = LH_EPARSE;
        }
        goto out; /* no debug info: the caller warns */
    }
    ident = elf_getident(elf, NULL);
    rc = read_dwarf(ac, dw, display, ident && ident[EI_DATA] == ELFDATA2MSB,
                    nunits);
    if (rc != LH_ENOMEM && has_grouped_debug(elf)) {
        error_msg(ac,
                  "%s: type units in COMDAT section groups "
                  "(-fdebug-types-section) cannot be read in an object file; "
                  "check the linked program or library instead",
                  display);
        if (!rc)
            rc = LH_EUNSUPPORTED;
    }
out:
    dwfl_end(dwfl);
    return rc;
}

/* Reads one ELF image (a whole file when path is set, else memory). */
static int read_elf(lh_abicheck *ac, Elf *elf, const char *display,
                    const char *path, size_t *nunits)
{
    char *raw, *copy = NULL;
    size_t size = 0;
    int rc;

    rc = check_elf(ac, elf, display);
    if (rc)
        return rc;
    if (path)
        return read_image(ac, elf, display, path, NULL, 0, nunits);
    raw = elf_rawfile(elf, &size);
    copy = lh_malloc(size ? size : 1);
    if (!copy)
        return LH_ENOMEM;
    memcpy(copy, raw, size);
    rc = read_image(ac, elf, display, NULL, copy, size, nunits);
    lh_free(copy);
    return rc;
}

/* Reads every member of an archive; errors in one member do not stop the
 * others.  Returns the first error, LH_ENOMEM at once. */
static int read_archive(lh_abicheck *ac, Elf *ar, int fd, Elf_Cmd cmd,
                        const char *display, size_t *nunits)
{
    lh_buf name = LH_BUF_INIT;
    int ret = 0, rc;

    for (;;) {
        Elf *m = elf_begin(fd, cmd, ar);
        Elf_Arhdr *h;
        char *member;

        if (!m)
            break;
        h = elf_getarhdr(m);
        if (h && h->ar_name && h->ar_name[0] != '/') {
            lh_buf_reset(&name);
            rc = buf_puts(&name, display);
            if (!rc)
                rc = buf_puts(&name, "(");
            if (!rc)
                rc = buf_puts(&name, h->ar_name);
            if (!rc)
                rc = buf_puts(&name, ")");
            member = rc ? NULL : buf_strdup(&name);
            if (!member) {
                elf_end(m);
                ret = LH_ENOMEM;
                break;
            }
            if (elf_kind(m) == ELF_K_ELF) {
                rc = read_elf(ac, m, member, NULL, nunits);
            } else {
                warning_msg(ac, "%s: not an ELF object; skipped", member);
                rc = 0;
            }
            lh_free(member);
            if (rc && !ret)
                ret = rc;
            if (rc == LH_ENOMEM) {
                elf_end(m);
                break;
            }
        }
        cmd = elf_next(m);
        elf_end(m);
    }
    lh_buf_free(&name);
    return ret;
}

static int add_file_rec(lh_abicheck *ac, const char *path)
{
    int rc = grow((void **)&ac->files, &ac->files_cap, ac->nfiles,
                  sizeof *ac->files);

    if (rc)
        return rc;
    ac->files[ac->nfiles].path = lh_strdup(path);
    if (!ac->files[ac->nfiles].path)
        return LH_ENOMEM;
    ac->files[ac->nfiles].status = FILE_ERROR;
    ac->files[ac->nfiles].units = 0;
    ac->nfiles++;
    return 0;
}

/* Reads an opened Elf handle (file or memory) and settles the file's
 * status. */
static int read_any(lh_abicheck *ac, Elf *elf, int fd, Elf_Cmd cmd,
                    const char *display, const char *path)
{
    struct file_rec *f = &ac->files[ac->nfiles - 1];
    size_t nunits = 0;
    size_t nerr = ac->nerrors;
    int rc;

    switch (elf_kind(elf)) {
    case ELF_K_ELF:
        rc = read_elf(ac, elf, display, path, &nunits);
        break;
    case ELF_K_AR:
        rc = read_archive(ac, elf, fd, cmd, display, &nunits);
        break;
    default: {
        size_t size = 0;
        const char *raw = elf_rawfile(elf, &size);

        if (raw && size >= 8 && memcmp(raw, "!<thin>\n", 8) == 0) {
            error_msg(ac,
                      "%s: thin archive: libelf cannot read it; pass its "
                      "members instead (ar t lists them)",
                      display);
            rc = LH_EUNSUPPORTED;
        } else {
            error_msg(ac, "%s: not an ELF file or ar archive", display);
            rc = LH_EBADMAGIC;
        }
        break;
    }
    }
    f->units = nunits;
    if (rc || ac->nerrors != nerr)
        f->status = FILE_ERROR;
    else if (nunits == 0)
        f->status = FILE_NO_DEBUG;
    else
        f->status = FILE_OK;
    if (rc == 0 && nunits == 0 && ac->nerrors == nerr) {
        const char *link = elf_kind(elf) == ELF_K_ELF ? debuglink(elf) : NULL;

        if (link)
            warning_msg(ac,
                        "%s: no debug info, and its separate debug file %s "
                        "(.gnu_debuglink) was not found beside it, in .debug/ "
                        "or under /usr/lib/debug; skipped",
                        display, link);
        else
            warning_msg(ac, "%s: no debug info (built without -g?); skipped",
                        display);
    }
    return rc;
}

/* ------------------------------------------------------------------ API */

int lh_abicheck_new(lh_abicheck **out)
{
    lh_abicheck *ac = lh_calloc(1, sizeof *ac);

    if (!ac)
        return LH_ENOMEM;
    elf_version(EV_CURRENT);
    *out = ac;
    return 0;
}

void lh_abicheck_free(lh_abicheck *ac)
{
    size_t i;

    if (!ac)
        return;
    for (i = 0; i < ac->ntypes; i++)
        type_free(ac->types[i]);
    lh_free(ac->types);
    lh_free(ac->slots);
    for (i = 0; i < ac->nunits; i++) {
        lh_free(ac->units[i].cu);
        lh_free(ac->units[i].file);
    }
    lh_free(ac->units);
    for (i = 0; i < ac->nerrors; i++)
        lh_free(ac->errors[i]);
    lh_free(ac->errors);
    for (i = 0; i < ac->nwarnings; i++)
        lh_free(ac->warnings[i]);
    lh_free(ac->warnings);
    for (i = 0; i < ac->nfiles; i++)
        lh_free(ac->files[i].path);
    lh_free(ac->files);
    lh_free(ac);
}

int lh_abicheck_add_file(lh_abicheck *ac, const char *path)
{
    struct stat st;
    Elf *elf = NULL;
    char *slash;
    int fd = -1, rc;

    rc = add_file_rec(ac, path);
    if (rc)
        return rc;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        error_msg(ac, "%s: cannot open: %s", path, strerror(errno));
        rc = LH_EIO;
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        error_msg(ac, "%s: not a regular file", path);
        rc = LH_EIO;
        goto out;
    }
    elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (!elf) {
        error_msg(ac, "%s: cannot read: %s", path, elf_errmsg(-1));
        rc = st.st_size == 0 ? LH_EBADMAGIC : LH_EIO;
        goto out;
    }
    ac->search_dir = path_norm(NULL, path);
    if (!ac->search_dir) {
        rc = LH_ENOMEM;
        goto out;
    }
    slash = strrchr(ac->search_dir, '/');
    if (slash)
        slash[slash == ac->search_dir ? 1 : 0] = '\0';
    else
        strcpy(ac->search_dir, ".");
    rc = read_any(ac, elf, fd, ELF_C_READ_MMAP, path, path);
out:
    lh_free(ac->search_dir);
    ac->search_dir = NULL;
    if (elf)
        elf_end(elf);
    if (fd >= 0)
        close(fd);
    return rc;
}

int lh_abicheck_add_memory(lh_abicheck *ac, const char *name,
                           const void *data, size_t len)
{
    char *copy;
    Elf *elf = NULL;
    int rc;

    rc = add_file_rec(ac, name);
    if (rc)
        return rc;
    copy = lh_malloc(len ? len : 1);
    if (!copy)
        return LH_ENOMEM;
    if (len)
        memcpy(copy, data, len);
    elf = elf_memory(copy, len);
    if (!elf) {
        error_msg(ac, "%s: cannot read: %s", name, elf_errmsg(-1));
        rc = LH_EBADMAGIC;
        goto out;
    }
    rc = read_any(ac, elf, -1, ELF_C_READ_MMAP, name, NULL);
out:
    if (elf)
        elf_end(elf);
    lh_free(copy);
    return rc;
}

size_t lh_abicheck_type_count(const lh_abicheck *ac)
{
    return ac->ntypes;
}

const lh_abi_type *lh_abicheck_type(const lh_abicheck *ac, size_t i)
{
    return i < ac->ntypes ? ac->types[i] : NULL;
}

const lh_abi_type *lh_abicheck_find(const lh_abicheck *ac, const char *name)
{
    size_t i;

    for (i = 0; i < ac->ntypes; i++)
        if (strcmp(ac->types[i]->name, name) == 0)
            return ac->types[i];
    return NULL;
}

size_t lh_abicheck_conflict_count(const lh_abicheck *ac)
{
    size_t i, n = 0;

    for (i = 0; i < ac->ntypes; i++)
        if (ac->types[i]->nlayouts > 1)
            n++;
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

int lh_abicheck_status(const lh_abicheck *ac)
{
    size_t i, with_debug = 0;

    for (i = 0; i < ac->nfiles; i++)
        if (ac->files[i].units > 0)
            with_debug++;
    if (ac->nerrors > 0 || with_debug == 0)
        return 2;
    return lh_abicheck_conflict_count(ac) > 0 ? 1 : 0;
}

/* ------------------------------------------------------------- output */

/* Is member i of layout l present, identical, in every layout of t? */
static int member_common(const lh_abi_type *t, const lh_abi_member *m)
{
    size_t i, j;

    for (i = 0; i < t->nlayouts; i++) {
        const lh_abi_layout *o = &t->layouts[i];
        int found = 0;

        for (j = 0; j < o->nmembers && !found; j++) {
            const lh_abi_member *x = &o->members[j];

            found = x->offset == m->offset && x->bit_offset == m->bit_offset &&
                    x->bit_size == m->bit_size &&
                    strcmp(x->name, m->name) == 0 &&
                    strcmp(x->canon_type, m->canon_type) == 0;
        }
        if (!found)
            return 0;
    }
    return 1;
}

static int enumerator_common(const lh_abi_type *t, const lh_abi_enumerator *e)
{
    size_t i, j;

    for (i = 0; i < t->nlayouts; i++) {
        const lh_abi_layout *o = &t->layouts[i];
        int found = 0;

        for (j = 0; j < o->nenumerators && !found; j++)
            found = o->enumerators[j].value == e->value &&
                    strcmp(o->enumerators[j].name, e->name) == 0;
        if (!found)
            return 0;
    }
    return 1;
}

#define TEXT_MAX_UNITS 8

static void write_type_text(const lh_abicheck *ac, const lh_abi_type *t,
                            FILE *out)
{
    size_t i, j;

    if (t->is_typedef)
        fprintf(out, "%s (typedef of an anonymous %s, %s %s): %zu layouts\n",
                t->name, t->layouts[0].kind,
                t->is_local ? "local to" : "header", t->header, t->nlayouts);
    else
        fprintf(out, "%s %s (%s %s): %zu layouts\n", t->layouts[0].kind,
                t->name, t->is_local ? "local to" : "header", t->header,
                t->nlayouts);
    for (i = 0; i < t->nlayouts; i++) {
        const lh_abi_layout *l = &t->layouts[i];

        fprintf(out, "  layout %zu: %s, %" PRIu64 " bytes, %zu unit%s\n",
                i + 1, l->kind, l->size, l->nunits, l->nunits == 1 ? "" : "s");
        for (j = 0; j < l->nmembers; j++) {
            const lh_abi_member *m = &l->members[j];
            char pos[64];

            if (m->bit_size)
                snprintf(pos, sizeof pos, "%" PRIu64 " bit %u:%u", m->offset,
                         m->bit_offset, m->bit_size);
            else
                snprintf(pos, sizeof pos, "%" PRIu64, m->offset);
            fprintf(out, "   %c offset %-14s %s %s\n",
                    member_common(t, m) ? ' ' : '*', pos, m->type, m->name);
        }
        for (j = 0; j < l->nenumerators; j++) {
            const lh_abi_enumerator *e = &l->enumerators[j];

            fprintf(out, "   %c %s = %" PRId64 "\n",
                    enumerator_common(t, e) ? ' ' : '*', e->name, e->value);
        }
        for (j = 0; j < l->ndecl_files; j++)
            fprintf(out, "    declared in %s\n", l->decl_files[j]);
        for (j = 0; j < l->nunits && j < TEXT_MAX_UNITS; j++) {
            const lh_abi_unit *u = &ac->units[l->units[j]];

            fprintf(out, "    unit %s in %s\n", u->cu, u->file);
        }
        if (l->nunits > TEXT_MAX_UNITS)
            fprintf(out, "    ... and %zu more units\n",
                    l->nunits - TEXT_MAX_UNITS);
    }
}

int lh_abicheck_write_text(const lh_abicheck *ac, FILE *out)
{
    size_t i, nconf = lh_abicheck_conflict_count(ac);

    for (i = 0; i < ac->ntypes; i++) {
        if (ac->types[i]->nlayouts < 2)
            continue;
        write_type_text(ac, ac->types[i], out);
        fputc('\n', out);
    }
    if (nconf)
        fprintf(out, "abi-check: %zu type%s with more than one layout",
                nconf, nconf == 1 ? "" : "s");
    else
        fputs("abi-check: no conflicting layouts", out);
    fprintf(out, " (%zu types in %zu units from %zu file%s%s)\n", ac->ntypes,
            ac->nunits, ac->nfiles, ac->nfiles == 1 ? "" : "s",
            nconf ? "; * marks what differs" : "");
    if (lh_abicheck_status(ac) == 2)
        fputs("abi-check: incomplete: some input could not be checked (see "
              "the messages above)\n",
              out);
    return ferror(out) ? LH_EIO : 0;
}

/* Length of a valid UTF-8 sequence at s, 0 when invalid. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n, i;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4;
    else
        return 0;
    for (i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* A JSON string; bytes that are not valid UTF-8 become U+FFFD. */
static void json_str(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    fputc('"', out);
    while (*p) {
        size_t n;

        if (*p == '"' || *p == '\\') {
            fputc('\\', out);
            fputc(*p++, out);
        } else if (*p < 0x20) {
            fprintf(out, "\\u%04x", *p++);
        } else {
            n = utf8_len(p);
            if (n == 0) {
                fputs("\\ufffd", out);
                p++;
            } else {
                fwrite(p, 1, n, out);
                p += n;
            }
        }
    }
    fputc('"', out);
}

static void json_strings(FILE *out, char *const *list, size_t n)
{
    size_t i;

    fputc('[', out);
    for (i = 0; i < n; i++) {
        if (i)
            fputc(',', out);
        json_str(out, list[i]);
    }
    fputc(']', out);
}

static void write_layout_json(const lh_abicheck *ac, const lh_abi_layout *l,
                              FILE *out)
{
    size_t j;

    fputs("{\"kind\":", out);
    json_str(out, l->kind);
    fprintf(out, ",\"size\":%" PRIu64 ",\"members\":[", l->size);
    for (j = 0; j < l->nmembers; j++) {
        const lh_abi_member *m = &l->members[j];

        fputs(j ? ",{\"name\":" : "{\"name\":", out);
        json_str(out, m->name);
        fprintf(out,
                ",\"offset\":%" PRIu64 ",\"bit_offset\":%u,\"bit_size\":%u,"
                "\"type\":",
                m->offset, m->bit_offset, m->bit_size);
        json_str(out, m->type);
        fputc('}', out);
    }
    fputs("],\"enumerators\":[", out);
    for (j = 0; j < l->nenumerators; j++) {
        fputs(j ? ",{\"name\":" : "{\"name\":", out);
        json_str(out, l->enumerators[j].name);
        fprintf(out, ",\"value\":%" PRId64 "}", l->enumerators[j].value);
    }
    fputs("],\"decl_files\":", out);
    json_strings(out, l->decl_files, l->ndecl_files);
    fputs(",\"units\":[", out);
    for (j = 0; j < l->nunits; j++) {
        const lh_abi_unit *u = &ac->units[l->units[j]];

        fputs(j ? ",{\"cu\":" : "{\"cu\":", out);
        json_str(out, u->cu);
        fputs(",\"file\":", out);
        json_str(out, u->file);
        fputc('}', out);
    }
    fputs("]}", out);
}

int lh_abicheck_write_json(const lh_abicheck *ac, FILE *out)
{
    static const char *const status_name[] = {"ok", "no-debug-info", "error"};
    size_t i, j, n = 0;

    fputs("{\"conflicts\":[", out);
    for (i = 0; i < ac->ntypes; i++) {
        const lh_abi_type *t = ac->types[i];

        if (t->nlayouts < 2)
            continue;
        fputs(n++ ? ",{\"kind\":" : "{\"kind\":", out);
        json_str(out, t->layouts[0].kind);
        fputs(",\"name\":", out);
        json_str(out, t->name);
        fputs(",\"header\":", out);
        json_str(out, t->header);
        fprintf(out, ",\"typedef\":%s,\"local\":%s,\"layouts\":[",
                t->is_typedef ? "true" : "false",
                t->is_local ? "true" : "false");
        for (j = 0; j < t->nlayouts; j++) {
            if (j)
                fputc(',', out);
            write_layout_json(ac, &t->layouts[j], out);
        }
        fputs("]}", out);
    }
    fputs("],\"files\":[", out);
    for (i = 0; i < ac->nfiles; i++) {
        fputs(i ? ",{\"path\":" : "{\"path\":", out);
        json_str(out, ac->files[i].path);
        fprintf(out, ",\"status\":\"%s\",\"units\":%zu}",
                status_name[ac->files[i].status], ac->files[i].units);
    }
    fputs("],\"errors\":", out);
    json_strings(out, ac->errors, ac->nerrors);
    fputs(",\"warnings\":", out);
    json_strings(out, ac->warnings, ac->nwarnings);
    fprintf(out, ",\"types\":%zu,\"units\":%zu,\"status\":%d}\n", ac->ntypes,
            ac->nunits, lh_abicheck_status(ac));
    return ferror(out) ? LH_EIO : 0;
}

/*
 * abicheck_die.c - from DIEs to layouts: attributes, member positions, the
 * C-like spelling of a type, one layout of a struct/union/enum, and the
 * key it is filed under.
 *
 * Robustness.  libdw's dwarf_decl_file asserts on split units in elfutils
 * 0.188, so the declaring file is looked up through the unit's file table
 * (dwarf_getsrcfiles/dwarf_filesrc) instead.  Recursion over type
 * references is bounded, so is the length of a spelled type, and sibling
 * walks must move forward (a corrupt DW_AT_sibling may point back), so
 * cyclic or deep DWARF from a corrupt file cannot run away.
 *
 * Cost.  A definition is first reduced to its canonical string only; the
 * members with their declared spellings are built when that string is new
 * to the type (abi_add_def), so a layout met again in another unit costs a
 * walk over its members and a hash lookup.
 */
#include "abicheck_int.h"

#include "alloc.h"

#include <dwarf.h>
#include <inttypes.h>
#include <string.h>

/* ------------------------------------------------------- DIE attributes */

/*
 * The next sibling, 0 when there is one further on.  DW_AT_sibling can
 * point anywhere in a corrupt file; requiring forward progress keeps every
 * loop over siblings finite.
 */
int abi_next_sibling(Dwarf_Die *die, Dwarf_Die *next)
{
    if (dwarf_siblingof(die, next) != 0)
        return -1;
    return dwarf_dieoffset(next) > dwarf_dieoffset(die) ? 0 : -1;
}

int abi_die_udata(Dwarf_Die *die, unsigned name, Dwarf_Word *out)
{
    Dwarf_Attribute a;

    if (!dwarf_attr(die, name, &a))
        return -1;
    return dwarf_formudata(&a, out) == 0 ? 0 : -1;
}

int abi_die_flag(Dwarf_Die *die, unsigned name)
{
    Dwarf_Attribute a;
    bool v = false;

    if (!dwarf_attr(die, name, &a))
        return 0;
    if (dwarf_formflag(&a, &v) != 0)
        return 1; /* present but odd: count it as set */
    return v ? 1 : 0;
}

int abi_die_type(Dwarf_Die *die, Dwarf_Die *out)
{
    Dwarf_Attribute a;

    if (!dwarf_attr(die, DW_AT_type, &a))
        return -1;
    return dwarf_formref_die(&a, out) ? 0 : -1;
}

const char *abi_die_string(Dwarf_Die *die, unsigned name)
{
    Dwarf_Attribute a;

    if (!dwarf_attr(die, name, &a))
        return NULL;
    return dwarf_formstring(&a);
}

const char *abi_tag_kind(int tag)
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
static char *decl_path(struct abi_walk *w, Dwarf_Die *die)
{
    Dwarf_Word idx;
    const char *name;

    if (!w->files || abi_die_udata(die, DW_AT_decl_file, &idx) != 0 ||
        idx >= w->nfiles)
        return NULL;
    name = dwarf_filesrc(w->files, idx, NULL, NULL);
    if (!name || !name[0])
        return NULL;
    return abi_path_norm(w->comp_dir, name);
}

/* The byte size of a type, following typedefs and qualifiers; 0 unknown. */
static Dwarf_Word type_bytes(Dwarf_Die *type)
{
    Dwarf_Die peeled;
    Dwarf_Word v;

    if (dwarf_peel_type(type, &peeled) != 0)
        return 0;
    if (abi_die_udata(&peeled, DW_AT_byte_size, &v) != 0)
        return 0;
    return v;
}

/* DW_AT_data_member_location as a byte offset: a constant, or the one
 * DW_OP_plus_uconst of a DWARF 2/3 location block; 0 otherwise. */
static Dwarf_Word member_location(Dwarf_Die *m)
{
    Dwarf_Attribute a;
    Dwarf_Word v;
    unsigned form;

    if (!dwarf_attr(m, DW_AT_data_member_location, &a))
        return 0;
    form = dwarf_whatform(&a);
    if (form == DW_FORM_block1 || form == DW_FORM_block2 ||
        form == DW_FORM_block4 || form == DW_FORM_block ||
        form == DW_FORM_exprloc) {
        Dwarf_Op *ops;
        size_t nops;

        if (dwarf_getlocation(&a, &ops, &nops) == 0 && nops == 1 &&
            ops[0].atom == DW_OP_plus_uconst)
            return ops[0].number;
        return 0;
    }
    return dwarf_formudata(&a, &v) == 0 ? v : 0;
}

/*
 * Position of a member in bits from the start of its struct, and its width
 * (0: not a bit-field).  DWARF 4/5 DW_AT_data_bit_offset is the position;
 * DWARF 2-4 DW_AT_bit_offset counts from the most significant bit of the
 * storage unit at DW_AT_data_member_location, so on little-endian targets it
 * is turned around.  Unsigned arithmetic: corrupt values wrap, never trap.
 */
static void member_pos(struct abi_walk *w, Dwarf_Die *m, uint64_t *bitpos,
                       unsigned *bitsize)
{
    Dwarf_Attribute a;
    Dwarf_Word bsz = 0, v;

    abi_die_udata(m, DW_AT_bit_size, &bsz);
    *bitsize = (unsigned)bsz;
    if (abi_die_udata(m, DW_AT_data_bit_offset, &v) == 0) {
        *bitpos = v;
        return;
    }
    *bitpos = (uint64_t)member_location(m) * 8u;
    if (bsz && dwarf_attr(m, DW_AT_bit_offset, &a)) {
        Dwarf_Sword bo = 0;
        Dwarf_Word storage = 0;
        Dwarf_Die type;

        dwarf_formsdata(&a, &bo);
        if (abi_die_udata(m, DW_AT_byte_size, &storage) != 0 &&
            abi_die_type(m, &type) == 0)
            storage = type_bytes(&type);
        if (w->big_endian)
            *bitpos += (uint64_t)bo;
        else
            *bitpos += (uint64_t)storage * 8u - (uint64_t)bo - (uint64_t)bsz;
    }
}

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

/* Is the enumeration's underlying type signed?  C's default (int) when
 * DWARF does not say. */
static int enum_signed(Dwarf_Die *en)
{
    Dwarf_Die t, peeled;
    Dwarf_Word enc;

    if (abi_die_type(en, &t) == 0 && dwarf_peel_type(&t, &peeled) == 0 &&
        abi_die_udata(&peeled, DW_AT_encoding, &enc) == 0)
        return enc == DW_ATE_signed || enc == DW_ATE_signed_char;
    if (abi_die_udata(en, DW_AT_encoding, &enc) == 0)
        return enc == DW_ATE_signed || enc == DW_ATE_signed_char;
    return 1;
}

/* An enumerator's value: fixed-size forms carry no sign, so it comes from
 * the enumeration's type. */
static int64_t enumerator_value(Dwarf_Die *e, int is_signed)
{
    Dwarf_Attribute a;
    Dwarf_Word u = 0;
    Dwarf_Sword s = 0;

    if (!dwarf_attr(e, DW_AT_const_value, &a))
        return 0;
    switch (dwarf_whatform(&a)) {
    case DW_FORM_sdata:
    case DW_FORM_implicit_const:
        dwarf_formsdata(&a, &s);
        return (int64_t)s;
    case DW_FORM_data1:
        dwarf_formudata(&a, &u);
        return is_signed ? (int64_t)(int8_t)(uint8_t)u : (int64_t)u;
    case DW_FORM_data2:
        dwarf_formudata(&a, &u);
        return is_signed ? (int64_t)(int16_t)(uint16_t)u : (int64_t)u;
    case DW_FORM_data4:
        dwarf_formudata(&a, &u);
        return is_signed ? (int64_t)(int32_t)(uint32_t)u : (int64_t)u;
    default:
        dwarf_formudata(&a, &u);
        return (int64_t)u;
    }
}

/* ------------------------------------------------------- type spelling */

static int type_str(struct abi_walk *w, Dwarf_Die *type, lh_buf *b,
                    int depth);

/* One member of an anonymous aggregate's body: "int a@0; ". */
static int anon_member(struct abi_walk *w, Dwarf_Die *m, lh_buf *b,
                       int depth)
{
    const char *n = dwarf_diename(m);
    Dwarf_Die mt;
    uint64_t pos = 0;
    unsigned bits = 0;
    int rc;

    member_pos(w, m, &pos, &bits);
    rc = abi_die_type(m, &mt) == 0 ? type_str(w, &mt, b, depth + 1)
                                   : abi_buf_puts(b, "void");
    if (!rc)
        rc = abi_buf_printf(b, " %s", n ? n : "");
    if (!rc && bits)
        rc = abi_buf_printf(b, ":%u@%" PRIu64 ".%u; ", bits, pos / 8u,
                            (unsigned)(pos % 8u));
    else if (!rc)
        rc = abi_buf_printf(b, "@%" PRIu64 "; ", pos / 8u);
    return rc;
}

/* "struct {int a@0; unsigned int b:3@4.0; }" for an anonymous aggregate:
 * members with byte offsets (and bit-fields' width and first bit). */
static int anon_body(struct abi_walk *w, Dwarf_Die *die, lh_buf *b, int depth)
{
    Dwarf_Die child, next;
    int rc, tag = dwarf_tag(die);

    rc = abi_buf_puts(b, " {");
    if (rc)
        return rc;
    if (dwarf_child(die, &child) != 0)
        return abi_buf_puts(b, "}");
    for (;;) {
        int ctag = dwarf_tag(&child);
        const char *n = dwarf_diename(&child);

        if (lh_buf_len(b) > ABI_MAX_TYPE_NAME)
            return abi_buf_puts(b, "...}");
        if (ctag == DW_TAG_member)
            rc = anon_member(w, &child, b, depth);
        else if (ctag == DW_TAG_enumerator && tag == DW_TAG_enumeration_type)
            rc = abi_buf_printf(b, "%s=%" PRId64 "; ", n ? n : "",
                                enumerator_value(&child, enum_signed(die)));
        if (rc)
            return rc;
        if (abi_next_sibling(&child, &next) != 0)
            break;
        child = next;
    }
    return abi_buf_puts(b, "}");
}

/* The target type first, then a suffix (" *", " const", ...). */
static int suffixed(struct abi_walk *w, Dwarf_Die *type, lh_buf *b, int depth,
                    const char *suffix)
{
    Dwarf_Die target;
    int rc = abi_die_type(type, &target) == 0
                 ? type_str(w, &target, b, depth + 1)
                 : abi_buf_puts(b, "void");

    return rc ? rc : abi_buf_puts(b, suffix);
}

static const char *suffix_of(int tag)
{
    switch (tag) {
    case DW_TAG_pointer_type:
        return " *";
    case DW_TAG_reference_type:
        return " &";
    case DW_TAG_rvalue_reference_type:
        return " &&";
    case DW_TAG_const_type:
        return " const";
    case DW_TAG_volatile_type:
        return " volatile";
    case DW_TAG_restrict_type:
        return " restrict";
    case DW_TAG_atomic_type:
        return " _Atomic";
    default:
        return NULL;
    }
}

/* "int[4][2]": the element type, then each dimension. */
static int array_str(struct abi_walk *w, Dwarf_Die *type, lh_buf *b,
                     int depth)
{
    Dwarf_Die target, child, next;
    int rc = abi_die_type(type, &target) == 0
                 ? type_str(w, &target, b, depth + 1)
                 : abi_buf_puts(b, "?");

    if (rc || dwarf_child(type, &child) != 0)
        return rc ? rc : abi_buf_puts(b, "[]");
    for (;;) {
        Dwarf_Word n;

        if (dwarf_tag(&child) == DW_TAG_subrange_type) {
            if (abi_die_udata(&child, DW_AT_count, &n) == 0)
                rc = abi_buf_printf(b, "[%" PRIu64 "]", (uint64_t)n);
            else if (abi_die_udata(&child, DW_AT_upper_bound, &n) == 0)
                rc = abi_buf_printf(b, "[%" PRIu64 "]", (uint64_t)n + 1u);
            else
                rc = abi_buf_puts(b, "[]");
            if (rc || lh_buf_len(b) > ABI_MAX_TYPE_NAME)
                return rc;
        }
        if (abi_next_sibling(&child, &next) != 0)
            break;
        child = next;
    }
    return 0;
}

/* "int(int, char *)": return type, then the parameters. */
static int subroutine_str(struct abi_walk *w, Dwarf_Die *type, lh_buf *b,
                          int depth)
{
    Dwarf_Die target, child, next, pt;
    int rc, first = 1;

    rc = abi_die_type(type, &target) == 0 ? type_str(w, &target, b, depth + 1)
                                          : abi_buf_puts(b, "void");
    if (!rc)
        rc = abi_buf_puts(b, "(");
    if (rc || dwarf_child(type, &child) != 0)
        return rc ? rc : abi_buf_puts(b, ")");
    for (;;) {
        int ctag = dwarf_tag(&child);

        if (ctag == DW_TAG_formal_parameter ||
            ctag == DW_TAG_unspecified_parameters) {
            if (!first)
                rc = abi_buf_puts(b, ", ");
            first = 0;
            if (!rc && ctag == DW_TAG_unspecified_parameters)
                rc = abi_buf_puts(b, "...");
            else if (!rc && abi_die_type(&child, &pt) == 0)
                rc = type_str(w, &pt, b, depth + 1);
            if (rc || lh_buf_len(b) > ABI_MAX_TYPE_NAME)
                break;
        }
        if (abi_next_sibling(&child, &next) != 0)
            break;
        child = next;
    }
    return rc ? rc : abi_buf_puts(b, ")");
}

/* A typedef: its name, or in the canonical form what it stands for
 * (size_t and __size_t are one type), except an anonymous aggregate, which
 * the typedef's name stands for (it is checked as a type of its own). */
static int typedef_str(struct abi_walk *w, Dwarf_Die *type, lh_buf *b,
                       int depth)
{
    const char *name = dwarf_diename(type);
    Dwarf_Die target;

    if (w->resolve && abi_die_type(type, &target) == 0 &&
        !(abi_tag_kind(dwarf_tag(&target)) && !dwarf_diename(&target)))
        return type_str(w, &target, b, depth + 1);
    return abi_buf_puts(b, name ? name : "?");
}

/* Compilers spell base types differently ("long unsigned int", "unsigned
 * long"): the canonical form is encoding and size. */
static int base_str(struct abi_walk *w, Dwarf_Die *type, lh_buf *b)
{
    const char *name = dwarf_diename(type);
    Dwarf_Word enc = 0, size = 0;

    if (w->resolve && abi_die_udata(type, DW_AT_encoding, &enc) == 0 &&
        abi_die_udata(type, DW_AT_byte_size, &size) == 0)
        return abi_buf_printf(b, "<%s%" PRIu64 ">", encoding_name(enc),
                              (uint64_t)size);
    return abi_buf_puts(b, name ? name : "?");
}

/*
 * Spells a type C-like but unambiguously: qualifiers and declarators are
 * suffixes ("char const *", "int[4]", "int(int, char *) *").  Typedefs stay
 * names; anonymous aggregates are spelled out with their layout.
 */
static int type_str(struct abi_walk *w, Dwarf_Die *type, lh_buf *b, int depth)
{
    const char *name = dwarf_diename(type);
    int tag = dwarf_tag(type), rc;

    if (depth > ABI_MAX_TYPE_DEPTH || lh_buf_len(b) > ABI_MAX_TYPE_NAME)
        return abi_buf_puts(b, "...");
    if (suffix_of(tag))
        return suffixed(w, type, b, depth, suffix_of(tag));
    switch (tag) {
    case DW_TAG_typedef:
        return typedef_str(w, type, b, depth);
    case DW_TAG_base_type:
        return base_str(w, type, b);
    case DW_TAG_unspecified_type:
        return abi_buf_puts(b, name ? name : "?");
    case DW_TAG_structure_type:
    case DW_TAG_union_type:
    case DW_TAG_enumeration_type:
    case DW_TAG_class_type:
        if (name)
            return abi_buf_printf(b, "%s %s", abi_tag_kind(tag), name);
        rc = abi_buf_puts(b, abi_tag_kind(tag));
        return rc ? rc : anon_body(w, type, b, depth);
    case DW_TAG_array_type:
        return array_str(w, type, b, depth);
    case DW_TAG_subroutine_type:
        return subroutine_str(w, type, b, depth);
    default:
        return abi_buf_printf(b, "<tag 0x%x>", (unsigned)tag);
    }
}

/* --------------------------------------------------------------- layouts */

/* Spells a member's type into tb, declared (resolve 0) or canonical. */
static int member_type(struct abi_walk *w, Dwarf_Die *m, lh_buf *tb,
                       int resolve)
{
    Dwarf_Die mt;
    int rc;

    lh_buf_reset(tb);
    w->resolve = resolve;
    rc = abi_die_type(m, &mt) == 0 ? type_str(w, &mt, tb, 0)
                                   : abi_buf_puts(tb, "void");
    w->resolve = 0;
    return rc;
}

/* Appends a member to l (with its declared spelling and canonical type). */
static int keep_member(struct abi_walk *w, Dwarf_Die *child, lh_abi_layout *l,
                       size_t *cap, const char *name, const lh_buf *canon_tb,
                       uint64_t pos, unsigned bits)
{
    lh_buf tb = LH_BUF_INIT;
    lh_abi_member *m;
    int rc;

    rc = lh_grow((void **)&l->members, cap, l->nmembers + 1,
                 sizeof *l->members, 8);
    if (rc)
        return rc;
    m = &l->members[l->nmembers++];
    memset(m, 0, sizeof *m);
    m->offset = pos / 8u;
    m->bit_offset = bits ? (unsigned)(pos % 8u) : 0u;
    m->bit_size = bits;
    rc = member_type(w, child, &tb, 0);
    if (!rc) {
        m->type = abi_buf_strdup(&tb);
        m->canon_type = abi_buf_strdup(canon_tb);
        m->name = lh_strdup(name);
        if (!m->type || !m->canon_type || !m->name)
            rc = LH_ENOMEM;
    }
    lh_buf_free(&tb);
    return rc;
}

/* A member (or base class) into the canonical string, and into l when it
 * is being filled. */
static int scan_member(struct abi_walk *w, Dwarf_Die *child, int ctag,
                       lh_buf *canon, lh_buf *tb, lh_abi_layout *l,
                       size_t *mcap)
{
    const char *n = dwarf_diename(child);
    const char *name = ctag == DW_TAG_inheritance ? "<base>" : n ? n : "";
    uint64_t pos = 0;
    unsigned bits = 0;
    int rc;

    member_pos(w, child, &pos, &bits);
    rc = member_type(w, child, tb, 1);
    if (!rc)
        rc = abi_buf_printf(canon, "%s:", name);
    if (!rc && lh_buf_len(tb))
        rc = lh_buf_append(canon, lh_buf_peek(tb), lh_buf_len(tb));
    if (!rc)
        rc = abi_buf_printf(canon, "@%" PRIu64 ".%u:%u;", pos / 8u,
                            bits ? (unsigned)(pos % 8u) : 0u, bits);
    if (!rc && l)
        rc = keep_member(w, child, l, mcap, name, tb, pos, bits);
    return rc;
}

/* An enumerator into the canonical string, and into l when filled. */
static int scan_enumerator(Dwarf_Die *child, int is_signed, lh_buf *canon,
                           lh_abi_layout *l, size_t *ecap)
{
    const char *n = dwarf_diename(child);
    int64_t v = enumerator_value(child, is_signed);
    lh_abi_enumerator *e;
    int rc;

    rc = abi_buf_printf(canon, "%s=%" PRId64 ";", n ? n : "", v);
    if (rc || !l)
        return rc;
    rc = lh_grow((void **)&l->enumerators, ecap, l->nenumerators + 1,
                 sizeof *l->enumerators, 8);
    if (rc)
        return rc;
    e = &l->enumerators[l->nenumerators];
    e->value = v;
    e->name = lh_strdup(n ? n : "");
    if (!e->name)
        return LH_ENOMEM;
    l->nenumerators++;
    return 0;
}

/*
 * The canonical string of a struct/union/class/enum DIE (kind, size,
 * members, enumerators) into `canon`; with `l` (zeroed by the caller) the
 * layout is filled too.
 */
static int scan_layout(struct abi_walk *w, Dwarf_Die *die, lh_buf *canon,
                       lh_abi_layout *l)
{
    lh_buf tb = LH_BUF_INIT;
    Dwarf_Die child, next;
    Dwarf_Word size = 0;
    size_t mcap = 0, ecap = 0;
    int tag = dwarf_tag(die);
    int is_signed = tag == DW_TAG_enumeration_type ? enum_signed(die) : 0;
    int rc;

    abi_die_udata(die, DW_AT_byte_size, &size);
    if (l) {
        l->kind = abi_tag_kind(tag);
        l->size = size;
    }
    rc = abi_buf_printf(canon, "%s %" PRIu64 "|", abi_tag_kind(tag),
                        (uint64_t)size);
    if (rc || dwarf_child(die, &child) != 0)
        goto out;
    for (;;) {
        int ctag = dwarf_tag(&child);

        if (ctag == DW_TAG_member || ctag == DW_TAG_inheritance)
            rc = scan_member(w, &child, ctag, canon, &tb, l, &mcap);
        else if (ctag == DW_TAG_enumerator)
            rc = scan_enumerator(&child, is_signed, canon, l, &ecap);
        if (rc || abi_next_sibling(&child, &next) != 0)
            break;
        child = next;
    }
out:
    lh_buf_free(&tb);
    return rc;
}

/* --------------------------------------------------------------- keys */

/* The key file of a type declared in `decl` (NULL: unknown) as the unit
 * at w sees it; *is_local set for a source file. */
static char *key_header(struct abi_walk *w, const char *decl, int *is_local)
{
    lh_buf hb = LH_BUF_INIT;
    char *header = NULL;
    int rc;

    *is_local = decl && ((w->cu_path && strcmp(decl, w->cu_path) == 0) ||
                         abi_is_source_file(decl));
    /* A header is keyed by base name; a source file's types are the unit's
     * own, keyed by path (and by the including unit for a .c file that
     * another includes, like glibc's vfprintf-internal.c). */
    rc = abi_buf_puts(&hb, !decl ? "?" : *is_local ? decl : abi_base_name(decl));
    if (!rc && *is_local && w->cu_path && strcmp(decl, w->cu_path) != 0) {
        rc = abi_buf_puts(&hb, " (included in ");
        if (!rc)
            rc = abi_buf_puts(&hb, w->cu_path);
        if (!rc)
            rc = abi_buf_puts(&hb, ")");
    }
    if (!rc)
        header = abi_buf_strdup(&hb);
    lh_buf_free(&hb);
    return header;
}

int abi_type_key(struct abi_walk *w, Dwarf_Die *def, Dwarf_Die *namer,
                 const char *name, int is_typedef, size_t *index, char **decl)
{
    char *header;
    int is_local, rc;

    *decl = decl_path(w, def);
    if (!*decl && namer != def)
        *decl = decl_path(w, namer);
    header = key_header(w, *decl, &is_local);
    if (!header)
        return LH_ENOMEM;
    rc = abi_type_get(w->ac, is_typedef, is_local, name, header, index);
    lh_free(header);
    return rc;
}

/*
 * Records one definition: `def` is the struct/union/enum DIE, `name` its
 * tag name or the name of the typedef that names it.
 */
int abi_add_def(struct abi_walk *w, Dwarf_Die *def, Dwarf_Die *namer,
                const char *name, int is_typedef)
{
    lh_buf canon = LH_BUF_INIT;
    lh_abi_layout l, *have;
    char *decl = NULL, *cs = NULL;
    size_t ti;
    int rc;

    memset(&l, 0, sizeof l);
    rc = abi_type_key(w, def, namer, name, is_typedef, &ti, &decl);
    if (!rc)
        rc = scan_layout(w, def, &canon, NULL);
    if (!rc)
        rc = (cs = abi_buf_strdup(&canon)) ? 0 : LH_ENOMEM;
    if (rc)
        goto out;
    have = abi_type_find_layout(w->ac, ti, cs, abi_fnv1a(cs, ABI_FNV_BASIS));
    if (have) {
        rc = abi_layout_add_unit(have, w->unit);
        if (!rc && decl)
            rc = abi_layout_add_decl(have, decl);
        goto out;
    }
    lh_buf_reset(&canon);
    rc = scan_layout(w, def, &canon, &l);
    if (rc)
        goto out;
    l.canon = cs;
    l.hash = abi_fnv1a(cs, ABI_FNV_BASIS);
    cs = NULL;
    rc = abi_type_add_layout(w->ac, ti, &l, w->unit, decl);
out:
    abi_layout_release(&l);
    lh_free(cs);
    lh_free(decl);
    lh_buf_free(&canon);
    return rc;
}

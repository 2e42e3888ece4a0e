/*
 * abicheck_syms.c - what crosses an object's boundary: its dynamic symbols
 * (an object file's global symbols) and, for each, the types its
 * declaration mentions.
 *
 * A type reaches another object only through something the two exchange:
 * a function or variable one imports and the other defines.  The symbol
 * table says what is exchanged; the DWARF of either side says what each
 * symbol carries.  During the walk (abicheck_walk.c) every external
 * function or variable DIE whose name (DW_AT_linkage_name, else DW_AT_name)
 * is one of the file's symbols gets its types collected: the return and
 * parameter types of a function, the type of a variable, followed through
 * typedefs, qualifiers, pointers, arrays and function types, and into the
 * members of every struct and union met, keeping the key of every named
 * (or typedef-named) aggregate and enumeration.  A symbol is collected once
 * from a declaration and once more from a definition, whose unit usually
 * has the complete types.  Each collection visits a DIE once (a set of DIE
 * offsets) and at most MAX_VISIT DIEs.
 */
#include "abicheck_int.h"

#include "alloc.h"

#include <dwarf.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VISIT 4096

/* ---------------------------------------------------------- symbols */

static uint64_t sym_hash_of(size_t i, const void *ctx)
{
    const struct abi_file *f = ctx;

    return abi_fnv1a(f->syms[i].name, ABI_FNV_BASIS);
}

static struct abi_sym *sym_find(const struct abi_file *f, const char *name)
{
    const abi_index *x = &f->sym_index;
    size_t s;

    if (!x->nslots)
        return NULL;
    for (s = abi_index_first(x, abi_fnv1a(name, ABI_FNV_BASIS)); x->slots[s];
         s = abi_index_next(x, s))
        if (strcmp(f->syms[x->slots[s] - 1].name, name) == 0)
            return &f->syms[x->slots[s] - 1];
    return NULL;
}

/* Adds a symbol or merges its flags into the one of the same name. */
static int sym_add(struct abi_file *f, const char *name, int defined)
{
    struct abi_sym *s = sym_find(f, name);
    int rc;

    if (!s) {
        rc = abi_index_reserve(&f->sym_index, sym_hash_of, f);
        if (!rc)
            rc = lh_grow((void **)&f->syms, &f->syms_cap, f->nsyms + 1,
                         sizeof *f->syms, 64);
        if (rc)
            return rc;
        s = &f->syms[f->nsyms];
        memset(s, 0, sizeof *s);
        s->name = lh_strdup(name);
        if (!s->name)
            return LH_ENOMEM;
        abi_index_put(&f->sym_index, abi_fnv1a(name, ABI_FNV_BASIS),
                      f->nsyms++);
    }
    if (defined)
        s->defined = 1;
    else
        s->undefined = 1;
    return 0;
}

/* Is this symbol part of the object's interface? */
static int exchanged_kind(const GElf_Sym *sym)
{
    int bind = GELF_ST_BIND(sym->st_info), type = GELF_ST_TYPE(sym->st_info);

    if (bind != STB_GLOBAL && bind != STB_WEAK && bind != STB_GNU_UNIQUE)
        return 0;
    if (type == STT_FUNC || type == STT_OBJECT || type == STT_TLS ||
        type == STT_GNU_IFUNC || type == STT_COMMON)
        return 1;
    return type == STT_NOTYPE && sym->st_shndx == SHN_UNDEF;
}

/* Reads one symbol table section. */
static int read_table(struct abi_file *f, Elf *elf, Elf_Scn *scn,
                      const GElf_Shdr *sh)
{
    Elf_Data *d = elf_getdata(scn, NULL);
    size_t i, n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;
    int rc = 0;

    for (i = 1; d && i < n && !rc; i++) {
        GElf_Sym sym;
        const char *name;

        if (!gelf_getsym(d, (int)i, &sym) || !exchanged_kind(&sym))
            continue;
        name = elf_strptr(elf, sh->sh_link, sym.st_name);
        if (name && *name)
            rc = sym_add(f, name, sym.st_shndx != SHN_UNDEF);
    }
    return rc;
}

int abi_syms_read(lh_abicheck *ac, struct abi_file *f, Elf *elf)
{
    GElf_Ehdr eh;
    Elf_Scn *scn = NULL;
    unsigned want;

    (void)ac;
    if (!gelf_getehdr(elf, &eh))
        return 0;
    want = eh.e_type == ET_REL ? SHT_SYMTAB : SHT_DYNSYM;
    for (;;) {
        GElf_Shdr sh;

        scn = elf_nextscn(elf, scn);
        if (!scn)
            return 0;
        if (gelf_getshdr(scn, &sh) && sh.sh_type == want)
            return read_table(f, elf, scn, &sh);
    }
}

void abi_syms_release(struct abi_file *f)
{
    size_t i;

    for (i = 0; i < f->nsyms; i++) {
        lh_free(f->syms[i].name);
        lh_free(f->syms[i].types);
    }
    lh_free(f->syms);
    abi_index_free(&f->sym_index);
    f->syms = NULL;
    f->nsyms = f->syms_cap = 0;
}

/* ------------------------------------------------------ the type closure */

struct closure {
    struct abi_walk *w;
    Dwarf_Off *seen;
    size_t nseen, seen_cap;
    abi_index seen_index;
    size_t *types;
    size_t ntypes, types_cap;
};

static uint64_t off_hash(Dwarf_Off off)
{
    return (uint64_t)off * 0x9e3779b97f4a7c15ULL;
}

static uint64_t seen_hash_of(size_t i, const void *ctx)
{
    const struct closure *c = ctx;

    return off_hash(c->seen[i]);
}

/* Marks a DIE visited; 1 when it was already (or the budget is spent). */
static int seen_before(struct closure *c, Dwarf_Die *die, int *rc)
{
    Dwarf_Off off = dwarf_dieoffset(die);
    const abi_index *x = &c->seen_index;
    size_t s;

    if (x->nslots)
        for (s = abi_index_first(x, off_hash(off)); x->slots[s];
             s = abi_index_next(x, s))
            if (c->seen[x->slots[s] - 1] == off)
                return 1;
    if (c->nseen >= MAX_VISIT)
        return 1;
    *rc = abi_index_reserve(&c->seen_index, seen_hash_of, c);
    if (!*rc)
        *rc = lh_grow((void **)&c->seen, &c->seen_cap, c->nseen + 1,
                      sizeof *c->seen, 32);
    if (*rc)
        return 1;
    c->seen[c->nseen] = off;
    abi_index_put(&c->seen_index, off_hash(off), c->nseen++);
    return 0;
}

/*
 * The key of a type met in the closure.  The DIE may sit in another unit
 * than the one walked (a type unit, DW_FORM_ref_addr): its declaring file
 * is then looked up in that unit's own file table.
 */
static int note_type(struct closure *c, Dwarf_Die *def, Dwarf_Die *namer,
                     const char *name, int is_typedef)
{
    struct abi_walk w2 = *c->w, *w = c->w;
    Dwarf_Die cudie;
    char *decl = NULL;
    size_t ti, i;
    int rc;

    if (namer->cu != c->w->files_cu && dwarf_cu_die(namer->cu, &cudie, NULL,
                                                    NULL, NULL, NULL, NULL,
                                                    NULL)) {
        w2.comp_dir = abi_die_string(&cudie, DW_AT_comp_dir);
        w2.cu_path = NULL;
        if (dwarf_getsrcfiles(&cudie, &w2.files, &w2.nfiles) != 0) {
            w2.files = NULL;
            w2.nfiles = 0;
        }
        w = &w2;
    }
    rc = abi_type_key(w, def, namer, name, is_typedef, &ti, &decl);
    lh_free(decl);
    if (rc)
        return rc;
    for (i = 0; i < c->ntypes; i++)
        if (c->types[i] == ti)
            return 0;
    rc = lh_grow((void **)&c->types, &c->types_cap, c->ntypes + 1,
                 sizeof *c->types, 8);
    if (!rc)
        c->types[c->ntypes++] = ti;
    return rc;
}

static int mention(struct closure *c, Dwarf_Die *type, int depth);

/* The types of the children of `die` that have one (members, base
 * classes, parameters). */
static int mention_children(struct closure *c, Dwarf_Die *die, int depth)
{
    Dwarf_Die child, next, t;
    int rc = 0;

    if (dwarf_child(die, &child) != 0)
        return 0;
    for (;;) {
        int tag = dwarf_tag(&child);

        if ((tag == DW_TAG_member || tag == DW_TAG_inheritance ||
             tag == DW_TAG_formal_parameter) &&
            abi_die_type(&child, &t) == 0)
            rc = mention(c, &t, depth + 1);
        if (rc || abi_next_sibling(&child, &next) != 0)
            return rc;
        child = next;
    }
}

/* A struct, union, class or enum: its key when it has a name, then its
 * members. */
static int mention_aggregate(struct closure *c, Dwarf_Die *type, int depth)
{
    const char *name = dwarf_diename(type);
    int rc = 0;

    if (name)
        rc = note_type(c, type, type, name, 0);
    if (!rc && !abi_die_flag(type, DW_AT_declaration))
        rc = mention_children(c, type, depth);
    return rc;
}

static int mention(struct closure *c, Dwarf_Die *type, int depth)
{
    Dwarf_Die target;
    int tag, rc = 0;

    if (depth > ABI_MAX_DIE_DEPTH || seen_before(c, type, &rc))
        return rc;
    tag = dwarf_tag(type);
    if (abi_tag_kind(tag))
        return mention_aggregate(c, type, depth);
    if (tag == DW_TAG_subroutine_type) {
        if (abi_die_type(type, &target) == 0)
            rc = mention(c, &target, depth + 1);
        return rc ? rc : mention_children(c, type, depth);
    }
    if (abi_die_type(type, &target) != 0)
        return 0;
    /* A typedef of an anonymous aggregate is keyed by the typedef. */
    if (tag == DW_TAG_typedef && abi_tag_kind(dwarf_tag(&target)) &&
        !dwarf_diename(&target) && dwarf_diename(type)) {
        rc = note_type(c, &target, type, dwarf_diename(type), 1);
        if (rc || seen_before(c, &target, &rc))
            return rc;
        return abi_die_flag(&target, DW_AT_declaration)
                   ? 0
                   : mention_children(c, &target, depth);
    }
    return mention(c, &target, depth + 1); /* typedef, pointer, array... */
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return x < y ? -1 : x > y;
}

/* Merges the closure's types into the symbol's (sorted, unique). */
static int merge_types(struct abi_sym *s, struct closure *c)
{
    size_t *all, n = 0, i;

    if (!c->ntypes)
        return 0;
    all = lh_malloc((s->ntypes + c->ntypes) * sizeof *all);
    if (!all)
        return LH_ENOMEM;
    if (s->ntypes)
        memcpy(all, s->types, s->ntypes * sizeof *all);
    memcpy(all + s->ntypes, c->types, c->ntypes * sizeof *all);
    qsort(all, s->ntypes + c->ntypes, sizeof *all, cmp_size);
    for (i = 0; i < s->ntypes + c->ntypes; i++)
        if (n == 0 || all[n - 1] != all[i])
            all[n++] = all[i];
    lh_free(s->types);
    s->types = all;
    s->ntypes = n;
    return 0;
}

int abi_syms_visit(struct abi_walk *w, Dwarf_Die *die, int tag)
{
    const char *name = abi_die_string(die, DW_AT_linkage_name);
    int is_def = !abi_die_flag(die, DW_AT_declaration);
    struct closure c;
    struct abi_sym *s;
    Dwarf_Die t;
    int rc = 0;

    if (!name)
        name = dwarf_diename(die);
    if (!name || !abi_die_flag(die, DW_AT_external))
        return 0;
    s = sym_find(w->file, name);
    if (!s || s->mentioned == 2 || (s->mentioned == 1 && !is_def))
        return 0;
    s->mentioned = is_def ? 2 : 1;
    memset(&c, 0, sizeof c);
    c.w = w;
    if (abi_die_type(die, &t) == 0)
        rc = mention(&c, &t, 0);
    if (!rc && tag == DW_TAG_subprogram)
        rc = mention_children(&c, die, 0);
    if (!rc)
        rc = merge_types(s, &c);
    lh_free(c.seen);
    lh_free(c.types);
    abi_index_free(&c.seen_index);
    return rc;
}

/*
 * test_abicheck.c - abi-check on inputs built to be awkward.
 *
 * The inputs are compiled at build time by tests/abicheck/CMakeLists.txt
 * (LH_ABI_FIXTURES is that build directory): one header change per object,
 * DWARF 4 and 5, split DWARF with and without its .dwo, archives, linked
 * programs, an object without -g, a truncated object, debug info split off
 * into every place the debug-file search looks, shared libraries that keep
 * same-named types apart, and legal C that must never be a conflict.  Text
 * files and truncations at every length are made here.  The whole-program
 * tests read repro/'s abi-repro-shared (LH_ABI_REPRO_SHARED), by file with
 * its dependencies and as a running process.
 */
#include "abicheck.h"
#include "abiconflicts.h"
#include "abiprobe.h"

#include "alloc.h"
#include "cu_main.h"
#include "error.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef LH_ABI_FIXTURES
#error "LH_ABI_FIXTURES must name the fixture build directory"
#endif

static int add_fx(lh_abicheck *ac, const char *name)
{
    char path[1024];

    snprintf(path, sizeof path, "%s/%s", LH_ABI_FIXTURES, name);
    return lh_abicheck_add_file(ac, path);
}

static lh_abicheck *check2(const char *a, const char *b)
{
    lh_abicheck *ac = NULL;

    CU_ASSERT_FATAL(lh_abicheck_new(&ac) == 0);
    CU_ASSERT_EQUAL(add_fx(ac, a), 0);
    if (b)
        CU_ASSERT_EQUAL(add_fx(ac, b), 0);
    return ac;
}

/* Reads a whole fixture into malloc'd memory. */
static unsigned char *slurp(const char *name, size_t *len)
{
    char path[1024];
    unsigned char *p;
    FILE *f;
    long n;

    snprintf(path, sizeof path, "%s/%s", LH_ABI_FIXTURES, name);
    f = fopen(path, "rb");
    CU_ASSERT_FATAL(f != NULL);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    p = malloc((size_t)n);
    CU_ASSERT_FATAL(p != NULL);
    CU_ASSERT_FATAL(fread(p, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static const lh_abi_member *member(const lh_abi_layout *l, const char *name)
{
    size_t i;

    for (i = 0; i < l->nmembers; i++)
        if (strcmp(l->members[i].name, name) == 0)
            return &l->members[i];
    return NULL;
}

static int64_t enumerator(const lh_abi_layout *l, const char *name)
{
    size_t i;

    for (i = 0; i < l->nenumerators; i++)
        if (strcmp(l->enumerators[i].name, name) == 0)
            return l->enumerators[i].value;
    return INT64_MIN;
}

static const char *unit_file(const lh_abicheck *ac, const lh_abi_layout *l,
                             size_t i)
{
    return lh_abicheck_unit(ac, l->units[i])->file;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int error_contains(const lh_abicheck *ac, const char *needle)
{
    size_t i;

    for (i = 0; i < lh_abicheck_error_count(ac); i++)
        if (strstr(lh_abicheck_error(ac, i), needle))
            return 1;
    return 0;
}

static void test_abicheck_grown_header_field_is_a_conflict(void)
{
    lh_abicheck *ac = check2("user_base.o", "user_shape.o");
    const lh_abi_type *t = lh_abicheck_find(ac, "shape");
    const lh_abi_type *u = lh_abicheck_find(ac, "value");

    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 2);
    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 1);
    CU_ASSERT_FATAL(t != NULL && u != NULL);
    CU_ASSERT_STRING_EQUAL(t->header, "shape.h");
    CU_ASSERT_FALSE(t->is_local);
    CU_ASSERT_FATAL(t->nlayouts == 2);
    CU_ASSERT_STRING_EQUAL(t->layouts[0].kind, "struct");
    CU_ASSERT_EQUAL(t->layouts[0].nmembers, 2);
    CU_ASSERT_EQUAL(t->layouts[1].nmembers, 3);
    CU_ASSERT_PTR_NULL(member(&t->layouts[0], "extra"));
    CU_ASSERT_FATAL(member(&t->layouts[1], "extra") != NULL);
    CU_ASSERT_EQUAL(member(&t->layouts[1], "extra")->offset, 4);
    CU_ASSERT_STRING_EQUAL(member(&t->layouts[1], "extra")->type, "int");
    CU_ASSERT_EQUAL(member(&t->layouts[0], "width")->offset, 8);
    CU_ASSERT_TRUE(has_suffix(unit_file(ac, &t->layouts[0], 0), "user_base.o"));
    CU_ASSERT_TRUE(has_suffix(unit_file(ac, &t->layouts[1], 0), "user_shape.o"));
    CU_ASSERT_TRUE(has_suffix(lh_abicheck_unit(ac, 0)->cu, "user.c"));
    CU_ASSERT_TRUE(has_suffix(t->layouts[0].decl_files[0], "include/shape.h"));
    /* The union grew from 4 to 8 bytes. */
    CU_ASSERT_FATAL(u->nlayouts == 2);
    CU_ASSERT_STRING_EQUAL(u->layouts[0].kind, "union");
    CU_ASSERT_EQUAL(u->layouts[0].size, 4);
    CU_ASSERT_EQUAL(u->layouts[1].size, 8);
    lh_abicheck_free(ac);
}

static void test_abicheck_swapped_members_same_size_conflict_by_offsets(void)
{
    lh_abicheck *ac = check2("user_base.o", "user_swap.o");
    const lh_abi_type *t = lh_abicheck_find(ac, "obj");

    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 1);
    CU_ASSERT_FATAL(t != NULL && t->nlayouts == 2);
    CU_ASSERT_EQUAL(t->layouts[0].size, t->layouts[1].size);
    CU_ASSERT_EQUAL(member(&t->layouts[0], "refcount")->offset, 0);
    CU_ASSERT_EQUAL(member(&t->layouts[1], "refcount")->offset, 4);
    CU_ASSERT_EQUAL(member(&t->layouts[0], "flags")->offset, 4);
    CU_ASSERT_EQUAL(member(&t->layouts[1], "flags")->offset, 0);
    CU_ASSERT_STRING_EQUAL(member(&t->layouts[0], "data")->type, "void *");
    lh_abicheck_free(ac);
}

static void test_abicheck_same_named_local_structs_do_not_conflict(void)
{
    lh_abicheck *ac = check2("local_a.o", "local_b.o");
    size_t i, states = 0, utils = 0;

    /* Same base name (util.c), different directories. */
    CU_ASSERT_EQUAL(add_fx(ac, "dira/util.o"), 0);
    CU_ASSERT_EQUAL(add_fx(ac, "dirb/util.o"), 0);
    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 0);
    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 0);
    for (i = 0; i < lh_abicheck_type_count(ac); i++) {
        const lh_abi_type *t = lh_abicheck_type(ac, i);

        if (strcmp(t->name, "state") == 0) {
            states++;
            CU_ASSERT_TRUE(t->is_local);
            CU_ASSERT_TRUE(has_suffix(t->header, states == 1 ? "/local_a.c"
                                                             : "/local_b.c"));
        }
        if (strcmp(t->name, "util_state") == 0) {
            utils++;
            CU_ASSERT_TRUE(t->is_local);
            CU_ASSERT_TRUE(has_suffix(t->header, utils == 1 ? "dira/util.c"
                                                            : "dirb/util.c"));
        }
    }
    CU_ASSERT_EQUAL(states, 2);
    CU_ASSERT_EQUAL(utils, 2);
    lh_abicheck_free(ac);
}

static void test_abicheck_member_spelled_through_other_typedef_agrees(void)
{
    lh_abicheck *ac = check2("user_base.o", "user_alias.o");
    const lh_abi_type *t = lh_abicheck_find(ac, "span");

    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 0);
    CU_ASSERT_FATAL(t != NULL);
    CU_ASSERT_EQUAL(t->nlayouts, 1);
    CU_ASSERT_EQUAL(t->layouts[0].nunits, 2);
    /* The spelling shown is the declared one. */
    CU_ASSERT_STRING_EQUAL(member(&t->layouts[0], "len")->type, "alias_len_t");
    lh_abicheck_free(ac);
}

static void test_abicheck_included_source_file_types_stay_local(void)
{
    lh_abicheck *ac = check2("inc_narrow.o", "inc_wide.o");
    size_t i, n = 0;

    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 0);
    for (i = 0; i < lh_abicheck_type_count(ac); i++) {
        const lh_abi_type *t = lh_abicheck_type(ac, i);

        if (strcmp(t->name, "impl_state") != 0)
            continue;
        n++;
        CU_ASSERT_TRUE(t->is_local);
        CU_ASSERT_PTR_NOT_NULL(strstr(t->header, "inc_impl.c (included in "));
        CU_ASSERT_PTR_NOT_NULL(strstr(t->header, n == 1 ? "inc_narrow.c)"
                                                        : "inc_wide.c)"));
    }
    CU_ASSERT_EQUAL(n, 2);
    lh_abicheck_free(ac);
}

static void test_abicheck_typedef_anonymous_struct_is_named_by_typedef(void)
{
    lh_abicheck *ac = check2("user_base.o", NULL);
    const lh_abi_type *t = lh_abicheck_find(ac, "point_t");
    const lh_abi_type *r;

    CU_ASSERT_FATAL(t != NULL);
    CU_ASSERT_TRUE(t->is_typedef);
    CU_ASSERT_STRING_EQUAL(t->header, "point.h");
    CU_ASSERT_EQUAL(t->nlayouts, 1);
    CU_ASSERT_EQUAL(t->layouts[0].size, 8);
    CU_ASSERT_EQUAL(t->layouts[0].nmembers, 2);
    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 0);
    CU_ASSERT_EQUAL(add_fx(ac, "user_point.o"), 0);
    t = lh_abicheck_find(ac, "point_t");
    CU_ASSERT_EQUAL(t->nlayouts, 2);
    CU_ASSERT_EQUAL(member(&t->layouts[1], "y")->offset, 8);
    /* The nested anonymous struct's swap shows in its parent's layout. */
    r = lh_abicheck_find(ac, "range_holder");
    CU_ASSERT_FATAL(r != NULL);
    CU_ASSERT_EQUAL(r->nlayouts, 2);
    CU_ASSERT_EQUAL(r->layouts[0].size, r->layouts[1].size);
    CU_ASSERT_PTR_NOT_NULL(strstr(member(&r->layouts[0], "range")->type,
                                  "int lo@0; int hi@4;"));
    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 2);
    lh_abicheck_free(ac);
}

static void test_abicheck_enum_value_change_is_a_conflict(void)
{
    lh_abicheck *ac = check2("user_base.o", "user_color.o");
    const lh_abi_type *t = lh_abicheck_find(ac, "color");

    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 1);
    CU_ASSERT_FATAL(t != NULL && t->nlayouts == 2);
    CU_ASSERT_STRING_EQUAL(t->layouts[0].kind, "enum");
    CU_ASSERT_EQUAL(t->layouts[0].size, t->layouts[1].size);
    CU_ASSERT_EQUAL(enumerator(&t->layouts[0], "COLOR_BLUE"), 2);
    CU_ASSERT_EQUAL(enumerator(&t->layouts[1], "COLOR_BLUE"), 3);
    CU_ASSERT_EQUAL(enumerator(&t->layouts[0], "COLOR_NEGATIVE"), -7);
    CU_ASSERT_EQUAL(enumerator(&t->layouts[1], "COLOR_YELLOW"), 2);
    lh_abicheck_free(ac);
}

static void test_abicheck_bitfield_width_change_is_a_conflict(void)
{
    lh_abicheck *ac = check2("user_base.o", "user_bits.o");
    const lh_abi_type *t = lh_abicheck_find(ac, "bits");
    const lh_abi_member *m0, *m1;

    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 1);
    CU_ASSERT_FATAL(t != NULL && t->nlayouts == 2);
    CU_ASSERT_EQUAL(t->layouts[0].size, t->layouts[1].size);
    m0 = member(&t->layouts[0], "mode");
    m1 = member(&t->layouts[1], "mode");
    CU_ASSERT_EQUAL(m0->offset, 0);
    CU_ASSERT_EQUAL(m0->bit_offset, 1);
    CU_ASSERT_EQUAL(m0->bit_size, 4);
    CU_ASSERT_EQUAL(m1->bit_size, 5);
    CU_ASSERT_EQUAL(member(&t->layouts[0], "level")->bit_offset, 5);
    CU_ASSERT_EQUAL(member(&t->layouts[1], "level")->bit_offset, 6);
    CU_ASSERT_EQUAL(member(&t->layouts[0], "tail")->bit_size, 0);
    CU_ASSERT_EQUAL(member(&t->layouts[0], "tail")->offset, 4);
    lh_abicheck_free(ac);
}

static void test_abicheck_declaration_only_struct_is_not_a_layout(void)
{
    lh_abicheck *ac = check2("decl_only.o", NULL);
    const lh_abi_type *t;

    CU_ASSERT_PTR_NULL(lh_abicheck_find(ac, "obj"));
    CU_ASSERT_EQUAL(lh_abicheck_unit_count(ac), 1);
    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 0);
    CU_ASSERT_EQUAL(add_fx(ac, "user_base.o"), 0);
    t = lh_abicheck_find(ac, "obj");
    CU_ASSERT_FATAL(t != NULL);
    CU_ASSERT_EQUAL(t->nlayouts, 1);
    CU_ASSERT_EQUAL(t->layouts[0].size, 16);
    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 0);
    lh_abicheck_free(ac);
}

static void test_abicheck_dwarf2_to_dwarf5_of_one_header_agree(void)
{
    lh_abicheck *ac = check2("user_base_d4.o", "user_base_d5.o");

    CU_ASSERT_EQUAL(add_fx(ac, "user_base.o"), 0);
    /* DWARF 2 and 3: member offsets as DW_OP_plus_uconst blocks. */
    CU_ASSERT_EQUAL(add_fx(ac, "user_base_d3.o"), 0);
    CU_ASSERT_EQUAL(add_fx(ac, "user_base_d2.o"), 0);
    /* DWARF 4 bit-fields (DW_AT_bit_offset) and 5 (data_bit_offset). */
    CU_ASSERT_EQUAL(add_fx(ac, "user_bits.o"), 0);
    CU_ASSERT_EQUAL(add_fx(ac, "user_bits_d4.o"), 0);
    CU_ASSERT_EQUAL(lh_abicheck_unit_count(ac), 7);
    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 1);
    CU_ASSERT_EQUAL(lh_abicheck_find(ac, "bits")->nlayouts, 2);
    CU_ASSERT_EQUAL(lh_abicheck_find(ac, "bits")->layouts[1].nunits, 2);
    CU_ASSERT_EQUAL(lh_abicheck_find(ac, "shape")->nlayouts, 1);
    CU_ASSERT_EQUAL(lh_abicheck_find(ac, "shape")->layouts[0].nunits, 7);
    CU_ASSERT_EQUAL(lh_abicheck_find(ac, "obj")->layouts[0].nunits, 7);
    lh_abicheck_free(ac);
}

static void test_abicheck_dwarf4_against_dwarf5_finds_the_change(void)
{
    lh_abicheck *ac = check2("user_base_d5.o", "user_shape_d4.o");

    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 2);
    CU_ASSERT_EQUAL(lh_abicheck_find(ac, "shape")->nlayouts, 2);
    lh_abicheck_free(ac);
}

static void test_abicheck_split_dwarf_is_read_through_dwo_files(void)
{
    static const char *const pairs[][2] = {
        {"split/user_base.o", "split/user_shape.o"},
        {"split4/user_base.o", "split4/user_shape.o"},
        {"prog_split", NULL},
    };
    size_t i;

    for (i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        lh_abicheck *ac = check2(pairs[i][0], pairs[i][1]);
        const lh_abi_type *t = lh_abicheck_find(ac, "shape");

        CU_ASSERT_EQUAL(lh_abicheck_error_count(ac), 0);
        CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 2);
        CU_ASSERT_FATAL(t != NULL);
        CU_ASSERT_EQUAL(t->nlayouts, 2);
        CU_ASSERT_STRING_EQUAL(t->header, "shape.h");
        CU_ASSERT_TRUE(has_suffix(
            lh_abicheck_unit(ac, t->layouts[1].units[0])->cu, "user.c"));
        CU_ASSERT_EQUAL(lh_abicheck_status(ac), 1);
        lh_abicheck_free(ac);
    }
}

#ifdef LH_ABI_TYPE_UNITS
/* The one unit of a layout that is a compilation unit of user.c (not a
 * type unit), or SIZE_MAX when there is not exactly one. */
static size_t cu_of_layout(const lh_abicheck *ac, const lh_abi_layout *l)
{
    size_t i, found = SIZE_MAX, n = 0;

    for (i = 0; i < l->nunits; i++)
        if (has_suffix(lh_abicheck_unit(ac, l->units[i])->cu, "/user.c")) {
            found = l->units[i];
            n++;
        }
    return n == 1 ? found : SIZE_MAX;
}

static void test_abicheck_type_units_read_in_linked_programs(void)
{
    static const char *const progs[] = {"prog_types5", "prog_types4"};
    size_t i;

    for (i = 0; i < 2; i++) {
        lh_abicheck *ac = check2(progs[i], NULL);
        const lh_abi_type *t = lh_abicheck_find(ac, "shape");

        CU_ASSERT_EQUAL(lh_abicheck_error_count(ac), 0);
        CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 2);
        CU_ASSERT_FATAL(t != NULL && t->nlayouts == 2);
        CU_ASSERT_STRING_EQUAL(t->header, "shape.h");
        CU_ASSERT_PTR_NOT_NULL(strstr(
            lh_abicheck_unit(ac, t->layouts[0].units[0])->cu, "type unit 0x"));
        /* Members are read through the type unit's own tables. */
        CU_ASSERT_PTR_NOT_NULL(member(&t->layouts[1], "extra"));
        /* Each side also names the compilation unit that refers to its
         * type unit: user.c built without, then with, SHAPE_V2. */
        {
            size_t cu0 = cu_of_layout(ac, &t->layouts[0]);
            size_t cu1 = cu_of_layout(ac, &t->layouts[1]);

            CU_ASSERT_NOT_EQUAL(cu0, SIZE_MAX);
            CU_ASSERT_NOT_EQUAL(cu1, SIZE_MAX);
            CU_ASSERT_TRUE(cu0 < cu1);
        }
        lh_abicheck_free(ac);
    }
}

static void test_abicheck_type_units_in_object_files_are_an_error(void)
{
    lh_abicheck *ac = NULL;

    CU_ASSERT_FATAL(lh_abicheck_new(&ac) == 0);
    CU_ASSERT_EQUAL(add_fx(ac, "types5/user_base.o"), LH_EUNSUPPORTED);
    CU_ASSERT_TRUE(error_contains(ac, "types5/user_base.o: type units in "
                                      "COMDAT section groups"));
    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 2);
    lh_abicheck_free(ac);
}
#endif

static void test_abicheck_moved_dwo_is_found_beside_the_object(void)
{
    lh_abicheck *ac = check2("split/user_base.o", "split_moved/user_shape.o");
    const lh_abi_type *t = lh_abicheck_find(ac, "shape");

    CU_ASSERT_EQUAL(lh_abicheck_error_count(ac), 0);
    CU_ASSERT_EQUAL(lh_abicheck_unit_count(ac), 2);
    CU_ASSERT_FATAL(t != NULL && t->nlayouts == 2);
    CU_ASSERT_TRUE(has_suffix(unit_file(ac, &t->layouts[1], 0),
                              "split_moved/user_shape.o"));
    CU_ASSERT_TRUE(has_suffix(t->layouts[1].decl_files[0], "include/shape.h"));
    lh_abicheck_free(ac);
}

static void test_abicheck_missing_dwo_is_an_error_naming_it(void)
{
    lh_abicheck *ac = NULL;

    CU_ASSERT_FATAL(lh_abicheck_new(&ac) == 0);
    CU_ASSERT_EQUAL(add_fx(ac, "split/user_base.o"), 0);
    CU_ASSERT_EQUAL(add_fx(ac, "split_missing/user_shape.o"), LH_ENOTFOUND);
    CU_ASSERT_EQUAL(lh_abicheck_error_count(ac), 1);
    CU_ASSERT_TRUE(error_contains(ac, "split_missing/user_shape.dwo not found"));
    CU_ASSERT_TRUE(error_contains(ac, "split_missing/user_shape.o: "));
    /* The file that could be read still was. */
    CU_ASSERT_EQUAL(lh_abicheck_find(ac, "shape")->nlayouts, 1);
    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 2);
    lh_abicheck_free(ac);
}

static void test_abicheck_archive_members_are_read_and_named(void)
{
    lh_abicheck *ac = check2("libmix.a", NULL);
    const lh_abi_type *t = lh_abicheck_find(ac, "obj");

    CU_ASSERT_EQUAL(lh_abicheck_unit_count(ac), 2);
    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 1);
    CU_ASSERT_FATAL(t != NULL && t->nlayouts == 2);
    CU_ASSERT_TRUE(has_suffix(unit_file(ac, &t->layouts[0], 0),
                              "libmix.a(user_base.o)"));
    CU_ASSERT_TRUE(has_suffix(unit_file(ac, &t->layouts[1], 0),
                              "libmix.a(user_swap.o)"));
    /* Member names come out relocated: right names, right files. */
    CU_ASSERT_PTR_NOT_NULL(member(&t->layouts[0], "refcount"));
    lh_abicheck_free(ac);

    ac = check2("libclean.a", NULL);
    CU_ASSERT_EQUAL(lh_abicheck_unit_count(ac), 2);
    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 0);
    lh_abicheck_free(ac);
}

static void test_abicheck_archive_from_memory_reads_every_member(void)
{
    lh_abicheck *ac = NULL;
    unsigned char *img;
    size_t len;

    img = slurp("libmix.a", &len);
    CU_ASSERT_FATAL(lh_abicheck_new(&ac) == 0);
    CU_ASSERT_EQUAL(lh_abicheck_add_memory(ac, "mem.a", img, len), 0);
    CU_ASSERT_EQUAL(lh_abicheck_unit_count(ac), 2);
    CU_ASSERT_STRING_EQUAL(lh_abicheck_unit(ac, 1)->file, "mem.a(user_swap.o)");
    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 1);
    lh_abicheck_free(ac);
    free(img);
}

static void test_abicheck_thin_archive_is_an_error_with_a_hint(void)
{
    lh_abicheck *ac = NULL;

    CU_ASSERT_FATAL(lh_abicheck_new(&ac) == 0);
    CU_ASSERT_EQUAL(add_fx(ac, "libthin.a"), LH_EUNSUPPORTED);
    CU_ASSERT_TRUE(error_contains(ac, "libthin.a: thin archive"));
    CU_ASSERT_TRUE(error_contains(ac, "pass its members instead"));
    lh_abicheck_free(ac);
}

static void test_abicheck_linked_program_shows_both_units(void)
{
    lh_abicheck *ac = check2("prog_mix", NULL);
    const lh_abi_type *t = lh_abicheck_find(ac, "shape");

    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 2);
    CU_ASSERT_FATAL(t != NULL && t->nlayouts == 2);
    CU_ASSERT_EQUAL(t->layouts[0].nunits, 1);
    CU_ASSERT_EQUAL(t->layouts[1].nunits, 1);
    CU_ASSERT_NOT_EQUAL(t->layouts[0].units[0], t->layouts[1].units[0]);
    lh_abicheck_free(ac);

    ac = check2("prog_clean", NULL);
    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 0);
    CU_ASSERT_EQUAL(lh_abicheck_unit_count(ac), 4);
    lh_abicheck_free(ac);
}

static void test_abicheck_file_without_debug_info_is_a_warning(void)
{
    lh_abicheck *ac = check2("user_nog.o", NULL);

    CU_ASSERT_EQUAL(lh_abicheck_error_count(ac), 0);
    CU_ASSERT_EQUAL(lh_abicheck_warning_count(ac), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(lh_abicheck_warning(ac, 0),
                                  "user_nog.o: no debug info"));
    /* Nothing had debug info: nothing was checked. */
    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 2);
    CU_ASSERT_EQUAL(add_fx(ac, "user_base.o"), 0);
    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 0);
    lh_abicheck_free(ac);

    ac = check2("libnog.a", NULL);
    CU_ASSERT_EQUAL(lh_abicheck_warning_count(ac), 1);
    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 2);
    lh_abicheck_free(ac);
}

static void test_abicheck_truncated_elf_is_an_error_at_every_length(void)
{
    lh_abicheck *ac = NULL;
    unsigned char *img;
    size_t len, cut, step;

    CU_ASSERT_FATAL(lh_abicheck_new(&ac) == 0);
    CU_ASSERT_EQUAL(add_fx(ac, "truncated.o"), LH_EPARSE);
    CU_ASSERT_TRUE(error_contains(ac, "truncated.o: truncated ELF"));
    lh_abicheck_free(ac);

    img = slurp("user_base.o", &len);
    step = getenv("LH_UNDER_VALGRIND") ? 211 : 13;
    for (cut = 0; cut < len; cut += step) {
        int rc;

        CU_ASSERT_FATAL(lh_abicheck_new(&ac) == 0);
        rc = lh_abicheck_add_memory(ac, "cut.o", img, cut);
        CU_ASSERT_TRUE(rc == LH_EPARSE || rc == LH_EBADMAGIC);
        CU_ASSERT_EQUAL(lh_abicheck_error_count(ac), 1);
        CU_ASSERT_EQUAL(lh_abicheck_status(ac), 2);
        lh_abicheck_free(ac);
    }
    /* The whole image, from memory, reads like the file. */
    CU_ASSERT_FATAL(lh_abicheck_new(&ac) == 0);
    CU_ASSERT_EQUAL(lh_abicheck_add_memory(ac, "whole.o", img, len), 0);
    CU_ASSERT_PTR_NOT_NULL(lh_abicheck_find(ac, "shape"));
    CU_ASSERT_EQUAL(add_fx(ac, "user_shape.o"), 0);
    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 2);
    lh_abicheck_free(ac);
    free(img);
}

static void test_abicheck_corrupt_bytes_inside_elf_never_crash(void)
{
    lh_abicheck *ac = NULL;
    unsigned char *img;
    size_t len, i;
    unsigned seed = 12345;
    int rounds = getenv("LH_UNDER_VALGRIND") ? 20 : 300;

    img = slurp("user_base.o", &len);
    for (i = 0; i < (size_t)rounds; i++) {
        unsigned char *bad = malloc(len);
        int k;

        CU_ASSERT_FATAL(bad != NULL);
        memcpy(bad, img, len);
        for (k = 0; k < 8; k++) {
            seed = seed * 1103515245u + 12345u;
            bad[(seed >> 8) % len] ^= (unsigned char)(1u << (seed % 8u));
        }
        CU_ASSERT_FATAL(lh_abicheck_new(&ac) == 0);
        lh_abicheck_add_memory(ac, "flipped.o", bad, len);
        CU_ASSERT_TRUE(lh_abicheck_status(ac) >= 0);
        lh_abicheck_free(ac);
        free(bad);
    }
    free(img);
}

static void test_abicheck_text_file_and_missing_file_are_errors(void)
{
    lh_abicheck *ac = NULL;

    CU_ASSERT_FATAL(lh_abicheck_new(&ac) == 0);
    CU_ASSERT_EQUAL(lh_abicheck_add_file(ac, LH_ABI_SOURCES "/user.c"),
                    LH_EBADMAGIC);
    CU_ASSERT_TRUE(error_contains(ac, "user.c: not an ELF file"));
    CU_ASSERT_EQUAL(add_fx(ac, "no-such-file.o"), LH_EIO);
    CU_ASSERT_TRUE(error_contains(ac, "no-such-file.o: cannot open"));
    CU_ASSERT_EQUAL(lh_abicheck_add_file(ac, LH_ABI_FIXTURES), LH_EIO);
    CU_ASSERT_TRUE(error_contains(ac, "not a regular file"));
    CU_ASSERT_EQUAL(lh_abicheck_add_memory(ac, "empty", "", 0), LH_EBADMAGIC);
    CU_ASSERT_EQUAL(lh_abicheck_error_count(ac), 4);
    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 2);
    lh_abicheck_free(ac);
}

static void test_abicheck_errors_win_over_conflicts_in_status(void)
{
    lh_abicheck *ac = check2("user_base.o", "user_shape.o");

    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 1);
    CU_ASSERT_EQUAL(lh_abicheck_add_file(ac, LH_ABI_SOURCES "/user.c"),
                    LH_EBADMAGIC);
    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 2);
    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 2);
    lh_abicheck_free(ac);

    CU_ASSERT_FATAL(lh_abicheck_new(&ac) == 0);
    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 2); /* nothing read */
    lh_abicheck_free(ac);
}

static char *render(lh_abicheck *ac, int json)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_EQUAL(json ? lh_abicheck_write_json(ac, f)
                         : lh_abicheck_write_text(ac, f),
                    0);
    fclose(f);
    return text;
}

static void test_abicheck_json_lists_conflicts_files_and_errors(void)
{
    lh_abicheck *ac = check2("user_base.o", "user_swap.o");
    char *json;

    CU_ASSERT_EQUAL(add_fx(ac, "user_nog.o"), 0);
    CU_ASSERT_EQUAL(lh_abicheck_add_file(ac, LH_ABI_SOURCES "/user.c"),
                    LH_EBADMAGIC);
    json = render(ac, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "{\"conflicts\":[{\"kind\":\"struct\","
                                        "\"name\":\"obj\",\"header\":\"swap.h\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "{\"name\":\"refcount\",\"offset\":4,"
                                        "\"bit_offset\":0,\"bit_size\":0,"
                                        "\"type\":\"int\"}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"status\":\"no-debug-info\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"status\":\"error\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"errors\":[\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "user_swap.o\"}]}]}],\"files\":["));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"status\":2}\n"));
    free(json);
    lh_abicheck_free(ac);
}

static void test_abicheck_text_marks_what_differs(void)
{
    lh_abicheck *ac = check2("user_base.o", "user_swap.o");
    char *text = render(ac, 0);

    CU_ASSERT_PTR_NOT_NULL(strstr(text, "struct obj (header swap.h): 2 layouts"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "* offset 0              int refcount"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "  offset 8              void * data"));
    CU_ASSERT_PTR_NULL(strstr(text, "* offset 8"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "abi-check: 1 type with more than one "
                                        "layout"));
    free(text);
    lh_abicheck_free(ac);

    ac = check2("user_base.o", NULL);
    text = render(ac, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "abi-check: no conflicting layouts"));
    free(text);
    lh_abicheck_free(ac);
}

/*
 * Every allocation, failed in turn (once, then from there on), gives
 * LH_ENOMEM and a checker that frees cleanly (valgrind checks the
 * "cleanly"); past the last allocation the full result comes back.
 */
static void alloc_failures_on(const char *const *files, size_t nfiles,
                              size_t conflicts)
{
    long n, stride = getenv("LH_UNDER_VALGRIND") ? 37 : 1;
    int done = 0, sticky;

    for (sticky = 0; sticky <= 1; sticky++) {
        done = 0;
        for (n = 0; !done && n < 100000; n += stride) {
            lh_abicheck *ac = NULL;
            int ok = 1;
            size_t i;

            if (lh_abicheck_new(&ac) != 0) {
                CU_FAIL("lh_abicheck_new without injected failure");
                return;
            }
            lh_alloc_fail_after(n, sticky);
            for (i = 0; i < nfiles; i++) {
                int rc = add_fx(ac, files[i]);

                CU_ASSERT_TRUE(rc == 0 || rc == LH_ENOMEM);
                ok = ok && rc == 0;
            }
            lh_alloc_fail_after(-1, 0);
            if (ok && lh_abicheck_conflict_count(ac) == conflicts)
                done = 1;
            lh_abicheck_free(ac);
        }
        CU_ASSERT_TRUE(done);
    }
}

static void test_abicheck_allocation_failures_are_reported_and_clean(void)
{
    static const char *const files[] = {"libmix.a", "user_shape.o"};
    lh_abicheck *ac = NULL;

    lh_alloc_fail_after(0, 0);
    CU_ASSERT_EQUAL(lh_abicheck_new(&ac), LH_ENOMEM);
    lh_alloc_fail_after(-1, 0);
    alloc_failures_on(files, 2, 3);
#ifdef LH_ABI_TYPE_UNITS
    {
        static const char *const tu[] = {"prog_types5"};

        alloc_failures_on(tu, 1, 2);
    }
#endif
}

/* ------------------------------------------------- debug-file search */

/* The first input whose path holds `part`; a zeroed record when none
 * (the assertions on it then fail instead of crashing). */
static const lh_abi_file *file_named(const lh_abicheck *ac, const char *part)
{
    static const lh_abi_file none;
    size_t i;

    for (i = 0; i < lh_abicheck_file_count(ac); i++)
        if (strstr(lh_abicheck_file(ac, i)->path, part))
            return lh_abicheck_file(ac, i);
    CU_FAIL("no such input");
    return &none;
}

static int warning_contains(const lh_abicheck *ac, const char *needle)
{
    size_t i;

    for (i = 0; i < lh_abicheck_warning_count(ac); i++)
        if (strstr(lh_abicheck_warning(ac, i), needle))
            return 1;
    return 0;
}

/* A stripped prog_mix read with `root` as a debug root (NULL: none). */
static lh_abicheck *check_stripped(const char *prog, const char *root)
{
    lh_abicheck *ac = NULL;

    CU_ASSERT_FATAL(lh_abicheck_new(&ac) == 0);
    if (root)
        CU_ASSERT_EQUAL(lh_abicheck_add_debug_dir(ac, root), 0);
    CU_ASSERT_EQUAL(add_fx(ac, prog), 0);
    return ac;
}

static void test_abicheck_debug_file_in_dot_debug_is_found(void)
{
    lh_abicheck *ac = check_stripped("dbg/dotdebug/prog_mix", NULL);

    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 2);
    CU_ASSERT_TRUE(has_suffix(lh_abicheck_file(ac, 0)->debug_file,
                              "dbg/dotdebug/.debug/prog_mix.debug"));
    lh_abicheck_free(ac);
}

static void test_abicheck_debug_dir_adds_a_root_for_debuglinks(void)
{
    lh_abicheck *ac = check_stripped("dbg/rooted/prog_mix", NULL);

    /* The debug file sits under root/ plus the program's directory. */
    CU_ASSERT_EQUAL(lh_abicheck_unit_count(ac), 0);
    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 2);
    lh_abicheck_free(ac);
    ac = check_stripped("dbg/rooted/prog_mix", LH_ABI_FIXTURES "/dbg/root");
    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(lh_abicheck_file(ac, 0)->debug_file,
                                  "dbg/root/"));
    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 1);
    lh_abicheck_free(ac);
}

static void test_abicheck_debug_file_by_build_id_under_a_root(void)
{
    lh_abicheck *ac = check_stripped("dbg/byid/prog_mix", NULL);

    CU_ASSERT_EQUAL(lh_abicheck_unit_count(ac), 0);
    CU_ASSERT_TRUE(warning_contains(ac, "no debug info"));
    lh_abicheck_free(ac);
    ac = check_stripped("dbg/byid/prog_mix", LH_ABI_FIXTURES "/dbg/idroot");
    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(lh_abicheck_file(ac, 0)->debug_file,
                                  "dbg/idroot/.build-id/"));
    lh_abicheck_free(ac);
}

static void test_abicheck_debuglink_crc_mismatch_is_ignored_with_a_note(void)
{
    lh_abicheck *ac = check_stripped("dbg/crcok/prog_noid", NULL);

    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 2);
    CU_ASSERT_EQUAL(lh_abicheck_warning_count(ac), 0);
    lh_abicheck_free(ac);
    ac = check_stripped("dbg/crcbad/prog_noid", NULL);
    CU_ASSERT_EQUAL(lh_abicheck_unit_count(ac), 0);
    CU_ASSERT_PTR_NULL(lh_abicheck_file(ac, 0)->debug_file);
    CU_ASSERT_TRUE(warning_contains(ac, "crcbad/prog_noid.debug "
                                        "(.gnu_debuglink) does not match"));
    CU_ASSERT_EQUAL(lh_abicheck_error_count(ac), 0);
    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 2);
    CU_ASSERT_EQUAL(lh_abicheck_add_debug_dir(ac, "/a:b"), LH_EINVAL);
    lh_abicheck_free(ac);
}

/* ---------------------------------------------- legal C, never a conflict */

static void test_abicheck_anonymous_structs_and_unions_never_conflict(void)
{
    lh_abicheck *ac = check2("anon_a.o", "anon_b.o");
    size_t i;

    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 0);
    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 0);
    for (i = 0; i < lh_abicheck_type_count(ac); i++)
        CU_ASSERT_PTR_NOT_NULL(strstr(lh_abicheck_type(ac, i)->name,
                                      "holder_"));
    CU_ASSERT_PTR_NOT_NULL(strstr(member(&lh_abicheck_find(ac, "holder_b")
                                               ->layouts[0],
                                         "u")->type,
                                  "union {double d@0;"));
    lh_abicheck_free(ac);
}

static void test_abicheck_one_layout_under_two_typedef_names_agrees(void)
{
    lh_abicheck *ac = check2("tdef_a.o", "tdef_b.o");

    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 0);
    CU_ASSERT_EQUAL(lh_abicheck_find(ac, "vec")->nlayouts, 1);
    CU_ASSERT_EQUAL(lh_abicheck_find(ac, "vec")->layouts[0].nunits, 2);
    CU_ASSERT_EQUAL(lh_abicheck_find(ac, "pos_t")->nlayouts, 1);
    CU_ASSERT_EQUAL(lh_abicheck_find(ac, "coord_t")->nlayouts, 1);
    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 0);
    lh_abicheck_free(ac);
}

/* ------------------------------------------------- objects, exchanges */

/* The search confined to the fixtures: no cache, no default directory,
 * so the C library (and its thousands of units) is not read here. */
static const char *const no_defaults[] = {"/nonexistent", NULL};

static lh_abicheck *check_program(const char *path)
{
    lh_ldsearch_env env;
    lh_abicheck *ac = NULL;

    memset(&env, 0, sizeof env);
    env.cache_path = "";
    env.default_dirs = no_defaults;
    CU_ASSERT_FATAL(lh_abicheck_new(&ac) == 0);
    CU_ASSERT_EQUAL(lh_abicheck_add_file(ac, path), 0);
    CU_ASSERT_EQUAL(lh_abicheck_add_deps(ac, &env), 0);
    return ac;
}

static void test_abicheck_private_same_named_structs_of_two_libraries(void)
{
    lh_abicheck *ac = check_program(LH_ABI_FIXTURES "/cfg/prog_cfg");
    const lh_abi_type *t = lh_abicheck_find(ac, "config");

    CU_ASSERT_FATAL(t != NULL);
    CU_ASSERT_STRING_EQUAL(t->header, "config.h");
    CU_ASSERT_EQUAL(t->nlayouts, 2);
    CU_ASSERT_EQUAL(t->verdict, LH_ABI_APART);
    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 0);
    /* libc is missing (confined search): a warning, not an error */
    CU_ASSERT_TRUE(warning_contains(ac, "libc.so.6 (needed by "));
    CU_ASSERT_EQUAL(lh_abicheck_error_count(ac), 0);
    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 0);
    CU_ASSERT_EQUAL(file_named(ac, "libcfg_a.so")->origin, LH_ABI_DEPENDENCY);
    lh_abicheck_free(ac);
}

static void test_abicheck_variants_inside_a_library_count_only_when_named(void)
{
    lh_abicheck *ac = check_program(LH_ABI_FIXTURES "/variants/prog_variants");

    CU_ASSERT_EQUAL(lh_abicheck_find(ac, "shape")->verdict, LH_ABI_APART);
    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 0);
    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 0);
    CU_ASSERT_FALSE(file_named(ac, "libvariants.so")->primary);
    lh_abicheck_free(ac);
    ac = check2("variants/libvariants.so", NULL);
    CU_ASSERT_EQUAL(lh_abicheck_find(ac, "shape")->verdict, LH_ABI_INSIDE);
    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 1);
    lh_abicheck_free(ac);
}

#ifdef LH_ABI_REPRO_SHARED
/* Non-fatal throughout: a test with a child process running must reach
 * the code that stops it. */
static void assert_repro_conflicts(const lh_abicheck *ac)
{
    static const char *const names[] = {"a_buf", "a_msg"};
    const lh_abi_type *t;
    size_t i;

    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 2);
    for (i = 0; i < 2; i++) {
        t = lh_abicheck_find(ac, names[i]);
        if (!t || t->nlayouts != 2) {
            CU_FAIL("a_buf and a_msg with two layouts each");
            return;
        }
        CU_ASSERT_EQUAL(t->verdict, LH_ABI_ACROSS);
        CU_ASSERT_TRUE(t->via && strncmp(t->via, "a_", 2) == 0);
        CU_ASSERT_TRUE(
            has_suffix(lh_abicheck_file(ac, t->object_a)->path,
                       "abi-repro-shared"));
        CU_ASSERT_PTR_NOT_NULL(
            strstr(lh_abicheck_file(ac, t->object_b)->path, "v2/liba.so.1"));
        CU_ASSERT_EQUAL(t->layouts[0].nobjects, 1);
        CU_ASSERT_EQUAL(t->layouts[1].nobjects, 1);
    }
    t = lh_abicheck_find(ac, "a_buf");
    CU_ASSERT_EQUAL(t->layouts[0].size, 32);
    CU_ASSERT_EQUAL(t->layouts[1].size, 40);
    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 1);
}

static void test_abicheck_program_and_the_library_it_loads_exchange(void)
{
    lh_abicheck *ac = check_program(LH_ABI_REPRO_SHARED);
    const lh_abi_file *liba = file_named(ac, "v2/liba.so.1");

    assert_repro_conflicts(ac);
    CU_ASSERT_FATAL(liba->path != NULL);
    CU_ASSERT_STRING_EQUAL(liba->soname, "liba.so.1");
    CU_ASSERT_TRUE(has_suffix(liba->needed_by, "abi-repro-shared"));
    CU_ASSERT_TRUE(lh_abicheck_file(ac, 0)->primary);
    CU_ASSERT_FALSE(liba->primary);
    lh_abicheck_free(ac);
    /* The program alone holds one layout of each: nothing to see. */
    CU_ASSERT_FATAL(lh_abicheck_new(&ac) == 0);
    CU_ASSERT_EQUAL(lh_abicheck_add_file(ac, LH_ABI_REPRO_SHARED), 0);
    CU_ASSERT_EQUAL(lh_abicheck_conflict_count(ac), 0);
    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 0);
    lh_abicheck_free(ac);
}

static void test_abicheck_conflicts_are_marked_by_source_file(void)
{
    static const char *const tail[] = {"nomatch.c", "repro/rpc/rpc.c"};
    static const char *const dotted[] = {"../rpc/rpc.c"};
    static const char *const partial[] = {"pc.c", "/rpc.c"};
    lh_abicheck *ac = check_program(LH_ABI_REPRO_SHARED);
    char *json = NULL;
    size_t len = 0;
    FILE *f;
    lh_json j;

    CU_ASSERT_EQUAL(lh_abicheck_mark_files(ac, tail, 2), 2);
    CU_ASSERT_TRUE(lh_abicheck_find(ac, "a_buf")->marked);
    CU_ASSERT_EQUAL(lh_abicheck_mark_files(ac, dotted, 1), 2);
    CU_ASSERT_EQUAL(lh_abicheck_mark_files(ac, partial, 2), 0);
    CU_ASSERT_FALSE(lh_abicheck_find(ac, "a_msg")->marked);
    lh_abicheck_mark_files(ac, tail, 2);
    f = open_memstream(&json, &len);
    CU_ASSERT_FATAL(f != NULL);
    lh_json_init(&j, f, 0);
    lh_abicheck_json_conflicts(ac, &j);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "[{\"kind\":\"struct\",\"name\":\"a_buf\","));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"verdict\":\"across\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"marked\":true,\"layouts\":["));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "v2/liba.so.1\"],\"units\":["));
    free(json);
    lh_abicheck_free(ac);
}

/* Starts abi-repro-shared until killed; waits until it has loaded A. */
static pid_t start_repro(void)
{
    char maps[64], line[512];
    pid_t pid = fork();
    int tries, loaded = 0;

    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        execl(LH_ABI_REPRO_SHARED, "abi-repro-shared", "--calls", "0",
              "--quiet", (char *)NULL);
        _exit(127);
    }
    snprintf(maps, sizeof maps, "/proc/%ld/maps", (long)pid);
    for (tries = 0; tries < 200 && !loaded; tries++) {
        FILE *f = fopen(maps, "r");
        struct timespec ts = {0, 50 * 1000 * 1000};

        while (f && !loaded && fgets(line, sizeof line, f))
            loaded = strstr(line, "v2/liba.so.1") != NULL;
        if (f)
            fclose(f);
        if (!loaded)
            nanosleep(&ts, NULL);
    }
    CU_ASSERT_TRUE(loaded);
    return pid;
}

static void stop(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void test_abicheck_running_process_is_checked_by_pid(void)
{
    pid_t pid = start_repro();
    long pids[2];
    lh_abiconflicts c;
    lh_abicheck *ac = NULL;
    static const char *const stack[] = {"rpc.c"};
    char line[256];

    CU_ASSERT_EQUAL(lh_abicheck_new(&ac), 0);
    CU_ASSERT_EQUAL(lh_abicheck_add_pid(ac, (long)pid), 0);
    CU_ASSERT_EQUAL(lh_abicheck_add_pid(ac, (long)pid), 0); /* once */
    assert_repro_conflicts(ac);
    CU_ASSERT_TRUE(file_named(ac, "abi-repro-shared")->primary);
    CU_ASSERT_EQUAL(file_named(ac, "v2/liba.so.1")->origin, LH_ABI_MAPPED);
    lh_abicheck_free(ac);
    /* The hunt's API: several pids merged, marked, described. */
    pids[0] = pids[1] = (long)pid;
    CU_ASSERT_EQUAL(lh_abiconflicts_check_pids(&c, pids, 2, NULL, 0), 0);
    CU_ASSERT_EQUAL(c.count, 2);
    CU_ASSERT_EQUAL(c.status, 1);
    CU_ASSERT_EQUAL(lh_abiconflicts_mark(&c, stack, 1), 2);
    CU_ASSERT_TRUE(c.items[0].marked);
    lh_abiconflicts_describe(&c, 0, line, sizeof line);
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "struct a_buf (header a.h): 32 bytes "
                                        "in abi-repro-shared, 40 bytes in "
                                        "liba.so.1")); /* .1.0: the file */
    CU_ASSERT_PTR_NOT_NULL(strstr(line, ", exchanged through a_"));
    CU_ASSERT_TRUE(lh_abiconflicts_describe(&c, 0, NULL, 0) > 40);
    lh_abiconflicts_free(&c);
    stop(pid);
    /* Gone: an error that makes the check incomplete. */
    CU_ASSERT_EQUAL(lh_abiconflicts_check_pids(&c, pids, 1, NULL, 0), 0);
    CU_ASSERT_EQUAL(c.count, 0);
    CU_ASSERT_EQUAL(c.status, 2);
    CU_ASSERT_TRUE(error_contains(c.checker, "no such process"));
    lh_abiconflicts_free(&c);
}

/* The hunt's probe: runs that map the same objects share one check; a
 * process that maps others gets its own; a run never probed has none. */
static void test_abicheck_probe_checks_each_set_of_objects_once(void)
{
    pid_t repro = start_repro(), self = getpid();
    lh_abiprobe *p = lh_abiprobe_new();

    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(lh_abiprobe_check(p, 0, &repro, 1), 0);
    CU_ASSERT_EQUAL(lh_abiprobe_check(p, 3, &repro, 1), 0);
    CU_ASSERT_EQUAL(lh_abiprobe_checks(p), 1);
    CU_ASSERT_PTR_EQUAL(lh_abiprobe_of(p, 0), lh_abiprobe_of(p, 3));
    CU_ASSERT_EQUAL(lh_abiprobe_of(p, 3)->count, 2); /* a_buf, a_msg */
    CU_ASSERT_EQUAL(lh_abiprobe_check(p, 4, &self, 1), 0);
    CU_ASSERT_EQUAL(lh_abiprobe_checks(p), 2);
    CU_ASSERT_EQUAL(lh_abiprobe_of(p, 4)->count, 0);
    CU_ASSERT_PTR_NULL(lh_abiprobe_of(p, 1));
    /* out of memory while checking: an error, nothing kept for the run */
    lh_alloc_fail_after(0, 1);
    CU_ASSERT_EQUAL(lh_abiprobe_check(p, 5, &repro, 1), LH_ENOMEM);
    lh_alloc_fail_after(-1, 0);
    CU_ASSERT_PTR_NULL(lh_abiprobe_of(p, 5));
    lh_abiprobe_free(p);
    lh_abiprobe_free(NULL);
    stop(repro);
}
#endif

static void test_abicheck_maps_lines_are_parsed(void)
{
    char a[] = "7f1c2a000000-7f1c2a028000 r--p 00000000 fe:00 332835     "
               "              /usr/lib/x86_64-linux-gnu/libc.so.6\n";
    char b[] = "55d0a0a00000-55d0a0a21000 rw-p 00000000 00:00 0          "
               "              [heap]\n";
    char c[] = "7f00-7f10 r-xp 00001000 08:01 12 /tmp/a b.so (deleted)\n";
    char d[] = "7f00-7f10 r-xp 00001000 08:01\n";
    char e[] = "7f00-7f10 r-xp 0 0801 12 /x\n";
    lh_abi_mapping m;

    CU_ASSERT_EQUAL_FATAL(lh_abicheck_maps_line(a, &m), 0);
    CU_ASSERT_STRING_EQUAL(m.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
    CU_ASSERT_EQUAL(m.major, 0xfe);
    CU_ASSERT_EQUAL(m.inode, 332835);
    CU_ASSERT_STRING_EQUAL(m.range, "7f1c2a000000-7f1c2a028000");
    CU_ASSERT_FALSE(m.deleted);
    CU_ASSERT_EQUAL_FATAL(lh_abicheck_maps_line(b, &m), 0);
    CU_ASSERT_EQUAL(m.inode, 0);
    CU_ASSERT_STRING_EQUAL(m.path, "[heap]");
    CU_ASSERT_EQUAL_FATAL(lh_abicheck_maps_line(c, &m), 0);
    CU_ASSERT_STRING_EQUAL(m.path, "/tmp/a b.so");
    CU_ASSERT_TRUE(m.deleted);
    CU_ASSERT_EQUAL(lh_abicheck_maps_line(d, &m), LH_EPARSE);
    CU_ASSERT_EQUAL(lh_abicheck_maps_line(e, &m), LH_EPARSE);
}

static void test_abicheck_bad_pids_make_the_check_incomplete(void)
{
    lh_abicheck *ac = NULL;

    CU_ASSERT_FATAL(lh_abicheck_new(&ac) == 0);
    CU_ASSERT_EQUAL(lh_abicheck_add_pid(ac, 0), LH_ENOTFOUND);
    CU_ASSERT_EQUAL(lh_abicheck_add_pid(ac, 2147483647L), LH_ENOTFOUND);
    CU_ASSERT_TRUE(error_contains(ac, "pid 2147483647: no such process"));
    CU_ASSERT_EQUAL(lh_abicheck_status(ac), 2);
    lh_abicheck_free(ac);
}

static CU_TestInfo tests[] = {
    {"grown header field is a conflict",
     test_abicheck_grown_header_field_is_a_conflict},
    {"swapped members, same size: conflict by offsets",
     test_abicheck_swapped_members_same_size_conflict_by_offsets},
    {"same-named local structs do not conflict",
     test_abicheck_same_named_local_structs_do_not_conflict},
    {"member spelled through another typedef agrees",
     test_abicheck_member_spelled_through_other_typedef_agrees},
    {"included source file's types stay local",
     test_abicheck_included_source_file_types_stay_local},
    {"typedef'd anonymous struct is named by its typedef",
     test_abicheck_typedef_anonymous_struct_is_named_by_typedef},
    {"enum value change is a conflict",
     test_abicheck_enum_value_change_is_a_conflict},
    {"bit-field width change is a conflict",
     test_abicheck_bitfield_width_change_is_a_conflict},
    {"declaration-only struct is not a layout",
     test_abicheck_declaration_only_struct_is_not_a_layout},
    {"DWARF 2 to 5 of one header agree",
     test_abicheck_dwarf2_to_dwarf5_of_one_header_agree},
    {"DWARF 4 against 5 finds the change",
     test_abicheck_dwarf4_against_dwarf5_finds_the_change},
    {"split DWARF is read through .dwo files",
     test_abicheck_split_dwarf_is_read_through_dwo_files},
#ifdef LH_ABI_TYPE_UNITS
    {"type units are read in linked programs",
     test_abicheck_type_units_read_in_linked_programs},
    {"type units in object files are an error",
     test_abicheck_type_units_in_object_files_are_an_error},
#endif
    {"moved .dwo is found beside the object",
     test_abicheck_moved_dwo_is_found_beside_the_object},
    {"missing .dwo is an error naming it",
     test_abicheck_missing_dwo_is_an_error_naming_it},
    {"archive members are read and named",
     test_abicheck_archive_members_are_read_and_named},
    {"archive from memory reads every member",
     test_abicheck_archive_from_memory_reads_every_member},
    {"thin archive is an error with a hint",
     test_abicheck_thin_archive_is_an_error_with_a_hint},
    {"linked program shows both units",
     test_abicheck_linked_program_shows_both_units},
    {"file without debug info is a warning",
     test_abicheck_file_without_debug_info_is_a_warning},
    {"truncated ELF is an error at every length",
     test_abicheck_truncated_elf_is_an_error_at_every_length},
    {"corrupt bytes inside an ELF never crash",
     test_abicheck_corrupt_bytes_inside_elf_never_crash},
    {"text file and missing file are errors",
     test_abicheck_text_file_and_missing_file_are_errors},
    {"errors win over conflicts in the status",
     test_abicheck_errors_win_over_conflicts_in_status},
    {"JSON lists conflicts, files and errors",
     test_abicheck_json_lists_conflicts_files_and_errors},
    {"text marks what differs", test_abicheck_text_marks_what_differs},
    {"allocation failures are reported and clean",
     test_abicheck_allocation_failures_are_reported_and_clean},
    {"debug file in .debug/ is found",
     test_abicheck_debug_file_in_dot_debug_is_found},
    {"--debug-dir adds a root for debuglinks",
     test_abicheck_debug_dir_adds_a_root_for_debuglinks},
    {"debug file by build ID under a root",
     test_abicheck_debug_file_by_build_id_under_a_root},
    {"debuglink CRC mismatch is ignored with a note",
     test_abicheck_debuglink_crc_mismatch_is_ignored_with_a_note},
    {"anonymous structs and unions never conflict",
     test_abicheck_anonymous_structs_and_unions_never_conflict},
    {"one layout under two typedef names agrees",
     test_abicheck_one_layout_under_two_typedef_names_agrees},
    {"private same-named structs of two libraries are apart",
     test_abicheck_private_same_named_structs_of_two_libraries},
    {"variants inside a library count only when it is named",
     test_abicheck_variants_inside_a_library_count_only_when_named},
#ifdef LH_ABI_REPRO_SHARED
    {"a program and the library it loads exchange the types",
     test_abicheck_program_and_the_library_it_loads_exchange},
    {"conflicts are marked by source file",
     test_abicheck_conflicts_are_marked_by_source_file},
    {"a running process is checked by pid",
     test_abicheck_running_process_is_checked_by_pid},
    {"the probe checks each set of objects once",
     test_abicheck_probe_checks_each_set_of_objects_once},
#endif
    {"maps lines are parsed", test_abicheck_maps_lines_are_parsed},
    {"bad pids make the check incomplete",
     test_abicheck_bad_pids_make_the_check_incomplete},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("abicheck", tests)

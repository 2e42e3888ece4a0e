/* inc_impl.c - fixture: a .c file included by inc_narrow.c and
 * inc_wide.c, each building it differently on purpose (glibc's
 * vfprintf-internal.c does this).  Its struct is local to each includer:
 * not a conflict. */
#ifdef INC_WIDE
typedef int inc_char;
#else
typedef char inc_char;
#endif

struct impl_state {
    const inc_char *cursor;
    inc_char last;
};

static int impl_step(struct impl_state *s)
{
    return (int)s->last;
}

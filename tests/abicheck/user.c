/* user.c - fixture: one unit that uses every fixture header.  The build
 * compiles it several times with different -D flags (and -g variants);
 * USER_FN gives each object its own symbol so they link together. */
#include "alias.h"
#include "bits.h"
#include "color.h"
#include "point.h"
#include "shape.h"
#include "swap.h"

#ifndef USER_FN
#define USER_FN user_base
#endif

/* A type local to this file: the same in every build of it. */
struct user_local {
    int counter;
};

int USER_FN(struct shape *s, union value *v, struct obj *o, point_t *p,
            struct range_holder *r, enum color c, struct bits *b,
            struct span *sp);

int USER_FN(struct shape *s, union value *v, struct obj *o, point_t *p,
            struct range_holder *r, enum color c, struct bits *b,
            struct span *sp)
{
    struct user_local l = {(int)c};

    return l.counter + s->kind + v->i + o->refcount + p->x + r->range.lo +
           (int)b->mode + (int)sp->len;
}

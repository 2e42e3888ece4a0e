/* tdef_a.c - fixture: uses tdef.h's types through one set of names. */
#include "tdef.h"

int tdef_a(vec_t *v, pos_t *p);
int tdef_a(vec_t *v, pos_t *p)
{
    return v->x + p->y;
}

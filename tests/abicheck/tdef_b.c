/* tdef_b.c - fixture: uses tdef.h's types through the other names. */
#include "tdef.h"

int tdef_b(vec2_t *v, coord_t *c);
int tdef_b(vec2_t *v, coord_t *c)
{
    return v->y + c->x;
}

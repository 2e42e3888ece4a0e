/* decl_only.c - fixture: struct obj is only declared here (an opaque
 * pointer); the unit has no definition of it, so it must not count as a
 * second layout of size 0. */
struct obj;

void *decl_only(struct obj *o);
void *decl_only(struct obj *o)
{
    return o;
}

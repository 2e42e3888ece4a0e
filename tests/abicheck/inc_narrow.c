/* inc_narrow.c - fixture: includes inc_impl.c narrow. */
#include "inc_impl.c"

int inc_narrow(struct impl_state *s);
int inc_narrow(struct impl_state *s)
{
    return impl_step(s);
}

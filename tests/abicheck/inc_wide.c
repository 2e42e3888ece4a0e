/* inc_wide.c - fixture: includes inc_impl.c wide. */
#define INC_WIDE 1
#include "inc_impl.c"

int inc_wide(struct impl_state *s);
int inc_wide(struct impl_state *s)
{
    return impl_step(s);
}

/* cfg.c (library cfg_a) - fixture: uses its private struct config only
 * inside; its interface passes an int. */
#include "config.h"

int cfg_a_level(void);
int cfg_a_level(void)
{
    static struct config c = {3};

    return c.level;
}

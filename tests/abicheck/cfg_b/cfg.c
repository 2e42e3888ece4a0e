/* cfg.c (library cfg_b) - fixture: see cfg_a/cfg.c. */
#include "config.h"

int cfg_b_level(void);
int cfg_b_level(void)
{
    static struct config c = {0.5, "b"};

    return (int)(c.ratio * 10) + c.name[0];
}

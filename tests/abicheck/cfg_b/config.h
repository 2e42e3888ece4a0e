/* config.h (library cfg_b) - fixture: see cfg_a/config.h. */
#ifndef CFG_B_CONFIG_H
#define CFG_B_CONFIG_H

struct config {
    double ratio;
    char name[8];
};

#endif

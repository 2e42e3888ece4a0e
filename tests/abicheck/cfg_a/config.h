/* config.h (library cfg_a) - fixture: a private struct config; library
 * cfg_b has another one in a header of the same base name.  The two
 * libraries never exchange it: "same name, never exchanged". */
#ifndef CFG_A_CONFIG_H
#define CFG_A_CONFIG_H

struct config {
    int level;
};

#endif

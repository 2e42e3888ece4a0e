/* tdef.h - fixture: one struct under two typedef names, and two
 * anonymous structs of one layout under two typedef names.  Each name is
 * one type with one layout: no conflict. */
#ifndef TDEF_H
#define TDEF_H

struct vec {
    int x;
    int y;
};

typedef struct vec vec_t;
typedef struct vec vec2_t;

typedef struct {
    int x;
    int y;
} pos_t;

typedef struct {
    int x;
    int y;
} coord_t;

#endif

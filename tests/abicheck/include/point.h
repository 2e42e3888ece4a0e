/* point.h - fixture: an anonymous struct named only by its typedef, and an
 * anonymous struct nested in a named one; both change under -DPOINT_V2. */
#ifndef POINT_H
#define POINT_H

typedef struct {
    int x;
#ifdef POINT_V2
    long y;
#else
    int y;
#endif
} point_t;

struct range_holder {
    struct {
#ifdef POINT_V2
        int hi;
        int lo;
#else
        int lo;
        int hi;
#endif
    } range;
};

#endif

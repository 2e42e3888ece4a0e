/* shape.h - fixture: a struct and a union that grow a field under
 * -DSHAPE_V2, the way a library header grows between versions. */
#ifndef SHAPE_H
#define SHAPE_H

struct shape {
    int kind;
#ifdef SHAPE_V2
    int extra;
#endif
    double width;
};

union value {
    int i;
    float f;
#ifdef SHAPE_V2
    double d;
#endif
};

#endif

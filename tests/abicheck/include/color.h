/* color.h - fixture: an enumerator inserted under -DCOLOR_V2 shifts the
 * values after it; the size does not change. */
#ifndef COLOR_H
#define COLOR_H

enum color {
    COLOR_RED,
    COLOR_GREEN,
#ifdef COLOR_V2
    COLOR_YELLOW,
#endif
    COLOR_BLUE,
    COLOR_NEGATIVE = -7
};

#endif

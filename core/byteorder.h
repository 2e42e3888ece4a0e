/*
 * byteorder.h - little-endian integers in byte buffers.
 *
 * Every wire format of ours (events, TCP frames, the node protocol, the
 * RPC framework) stores integers little-endian, byte by byte, so that the
 * encoding does not depend on the host or on alignment.  These are the
 * one set of helpers they all use.
 */
#ifndef LH_BYTEORDER_H
#define LH_BYTEORDER_H

#include <stdint.h>

static inline void lh_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void lh_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void lh_put_le64(uint8_t *p, uint64_t v)
{
    lh_put_le32(p, (uint32_t)v);
    lh_put_le32(p + 4, (uint32_t)(v >> 32));
}
static inline uint16_t lh_get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}
static inline uint32_t lh_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}
static inline uint64_t lh_get_le64(const uint8_t *p)
{
    return (uint64_t)lh_get_le32(p) | (uint64_t)lh_get_le32(p + 4) << 32;
}

#endif

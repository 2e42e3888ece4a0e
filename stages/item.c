/*
 * item.c - the items that carry events through a B node's stages
 * (lh_item, stage.h): made from an event's bytes, decoded once.
 */
#include "stage.h"

#include <string.h>

#include "alloc.h"

lh_item *lh_item_new(const uint8_t *data, uint32_t len, uint64_t tag)
{
    lh_item *it = lh_malloc(sizeof *it + len);
    if (it == NULL)
        return NULL;
    memset(it, 0, sizeof *it);
    memcpy(it->data, data, len);
    it->len = len;
    it->tag = tag;
    return it;
}

int lh_item_decode(lh_item *it)
{
    if (it->decoded)
        return 0;
    int rc = lh_event_decode(it->data, it->len, &it->ev);
    if (rc < 0)
        return rc;
    it->decoded = 1;
    return 0;
}

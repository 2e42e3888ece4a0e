/*
 * input.h - what the tool-output parsers (heapprof.c, vgxml.c) share:
 * reading the file they parse, with their kind of error text.
 */
#ifndef LH_INPUT_H
#define LH_INPUT_H

#include <stddef.h>

#include "buf.h"

/*
 * Appends the whole file at `path` to *b for a parser.  0; or LH_EINVAL
 * (path NULL), LH_EIO or LH_ENOMEM, with the message in why[whylen]
 * (lh_set_why: "invalid argument", "cannot read PATH: reason", "out of
 * memory").  The caller frees *b either way.
 */
int lh_input_read(const char *path, lh_buf *b, char *why, size_t whylen);

#endif

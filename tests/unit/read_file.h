/*
 * read_file.h - a fixture file read whole for a parser's suite (the
 * parsers of tool output read recorded output from tests/fixtures).
 */
#ifndef LH_TEST_READ_FILE_H
#define LH_TEST_READ_FILE_H

#include "cu_main.h"

#include "alloc.h"
#include "buf.h"

#include <string.h>

/* The file at path, NUL-terminated (*len bytes before the NUL); the
 * caller frees it with lh_free.  Fails the test when it cannot be read. */
static inline char *lh_test_read_file(const char *path, size_t *len)
{
    lh_buf b = LH_BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(lh_buf_read_file(&b, path), 0);
    *len = lh_buf_len(&b);
    char *data = lh_malloc(*len + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    if (*len > 0)
        memcpy(data, lh_buf_peek(&b), *len);
    data[*len] = '\0';
    lh_buf_free(&b);
    return data;
}

#endif

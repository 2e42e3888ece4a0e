/*
 * error.h - the one table of leak-hunt error codes.
 *
 * Functions return int: 0 (or a non-negative count) on success, a negative
 * LH_E... code on failure.  A call that fails leaves its arguments unchanged
 * unless its header says otherwise.  The table below gives both the enum and
 * the message, so the two cannot drift apart (libuv's UV_ERRNO_MAP).
 */
#ifndef LH_ERROR_H
#define LH_ERROR_H

#define LH_ERRNO_MAP(X)                                                        \
    X(NOMEM, "out of memory")                                                  \
    X(INVAL, "invalid argument")                                               \
    X(RANGE, "value out of range")                                             \
    X(TRUNC, "input truncated")                                                \
    X(BADMAGIC, "bad magic number")                                            \
    X(BADVERSION, "unsupported format version")                                \
    X(BADLEN, "length field out of range")                                     \
    X(TOOBIG, "size over the limit")                                           \
    X(CHECKSUM, "checksum mismatch")                                           \
    X(PARSE, "malformed input")                                                \
    X(FULL, "capacity reached")                                                \
    X(EMPTY, "nothing there")                                                  \
    X(EXIST, "already present")                                                \
    X(NOTFOUND, "not found")                                                   \
    X(AGAIN, "would block")                                                    \
    X(CLOSED, "connection closed")                                             \
    X(TIMEOUT, "timed out")                                                    \
    X(IO, "input/output error")                                                \
    X(SYS, "system call failed")                                               \
    X(AUTH, "authentication failed")                                           \
    X(UNSUPPORTED, "not supported")                                            \
    X(TOOL, "external tool failed")

enum lh_errno {
    LH_OK = 0,
#define LH_ERR_ENUM_(name, msg) LH_E##name##_INDEX_,
    LH_ERR_FIRST_INDEX_ = 0,
    LH_ERRNO_MAP(LH_ERR_ENUM_)
#undef LH_ERR_ENUM_
    LH_ERR_COUNT_
};

/* The codes themselves are negative: LH_ENOMEM == -1, and so on. */
#define LH_ERR_CODE_(name, msg) LH_E##name = -(int)LH_E##name##_INDEX_,
enum lh_error_code { LH_ERRNO_MAP(LH_ERR_CODE_) LH_ELAST_ = -(int)LH_ERR_COUNT_ };
#undef LH_ERR_CODE_

/*
 * Returns the message for an LH_E... code ("out of memory"), "success" for 0
 * and "unknown error" for anything else.  Never returns NULL.
 */
const char *lh_strerror(int err);

/* Returns the code's name without the prefix ("NOMEM"), "OK" for 0. */
const char *lh_errname(int err);

#include <stddef.h>

/* Writes a parser's or loader's message (printf format) into why[whylen];
 * does nothing when why is NULL or whylen 0.  The one place the parsers
 * (valgrind XML, heap profiles, DWARF, stats lines) write their error
 * text. */
void lh_set_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif

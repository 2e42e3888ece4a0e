/*
 * Design: both functions are switches generated from LH_ERRNO_MAP, so a
 * code added to the table gets its message and name with no other edit.
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

const char *lh_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define LH_ERR_MSG_(name, msg)                                                 \
    case LH_E##name:                                                           \
        return msg;
        LH_ERRNO_MAP(LH_ERR_MSG_)
#undef LH_ERR_MSG_
    default:
        return "unknown error";
    }
}

const char *lh_errname(int err)
{
    switch (err) {
    case 0:
        return "OK";
#define LH_ERR_NAME_(name, msg)                                                \
    case LH_E##name:                                                           \
        return #name;
        LH_ERRNO_MAP(LH_ERR_NAME_)
#undef LH_ERR_NAME_
    default:
        return "UNKNOWN";
    }
}

void lh_set_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || whylen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

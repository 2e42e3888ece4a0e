#include "input.h"

#include "error.h"

#include <errno.h>
#include <string.h>

int lh_input_read(const char *path, lh_buf *b, char *why, size_t whylen)
{
    if (path == NULL) {
        lh_set_why(why, whylen, "invalid argument");
        return LH_EINVAL;
    }
    int rc = lh_buf_read_file(b, path);
    if (rc == LH_EIO)
        lh_set_why(why, whylen, "cannot read %s: %s", path, strerror(errno));
    else if (rc < 0)
        lh_set_why(why, whylen, "out of memory");
    return rc;
}

/*
 * net.c - TCP sockets for the pipeline's processes (IPv4).
 *
 * Design notes:
 * - Every socket is created with SOCK_NONBLOCK | SOCK_CLOEXEC in the same
 *   call (accept4 for accepted ones), so no fd leaks into a child started
 *   between socket() and a later fcntl().  TCP_NODELAY is set on every
 *   socket: frames are small and latency matters more than packet count.
 *   Listeners get SO_REUSEADDR so a restarted process can rebind at once.
 * - A host is a dotted quad, or a name resolved once with getaddrinfo
 *   (IPv4 only).  A NULL or empty host, or "*", means every interface for
 *   lh_net_listen.
 * - lh_net_connect is a non-blocking connect followed by poll() for the
 *   remaining time (restarted on EINTR with the clock, not the original
 *   timeout), then SO_ERROR for the outcome.  A negative timeout waits as
 *   long as the kernel does.
 * - On LH_ESYS, errno still holds the cause (ECONNREFUSED, EADDRINUSE...),
 *   so a caller can name it in its message.
 */
#include "net.h"

#include "clock.h"
#include "error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HOST_MAX 256

int lh_net_nonblock(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return LH_ESYS;
    if (flags & O_NONBLOCK)
        return 0;
    if (fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return LH_ESYS;
    return 0;
}

int lh_net_split(const char *addr, char *host, size_t hostcap, uint16_t *port)
{
    if (addr == NULL || host == NULL || port == NULL)
        return LH_EINVAL;
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr)
        return LH_EINVAL;
    size_t hlen = (size_t)(colon - addr);
    if (hlen + 1 > hostcap)
        return LH_EINVAL;
    const char *p = colon + 1;
    if (*p == '\0')
        return LH_EINVAL;
    unsigned long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return LH_EINVAL;
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > 65535)
            return LH_EINVAL;
    }
    memcpy(host, addr, hlen);
    host[hlen] = '\0';
    *port = (uint16_t)v;
    return 0;
}

/* Fills sa for host:port; NULL/""/"*" is INADDR_ANY when any_ok. */
static int resolve(const char *host, uint16_t port, int any_ok,
                   struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    if (host == NULL || host[0] == '\0' || strcmp(host, "*") == 0) {
        if (!any_ok)
            return LH_EINVAL;
        sa->sin_addr.s_addr = htonl(INADDR_ANY);
        return 0;
    }
    if (inet_pton(AF_INET, host, &sa->sin_addr) == 1)
        return 0;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL)
        return LH_EINVAL;
    struct sockaddr_in found;
    memcpy(&found, res->ai_addr, sizeof found);
    sa->sin_addr = found.sin_addr;
    freeaddrinfo(res);
    return 0;
}

/* Closes fd keeping errno, so LH_ESYS callers still see the cause. */
static void close_keep_errno(int fd)
{
    int saved = errno;
    close(fd);
    errno = saved;
}

/* Sets TCP_NODELAY on fd.  fd, or LH_ESYS with fd closed. */
static int with_nodelay(int fd)
{
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) {
        close_keep_errno(fd);
        return LH_ESYS;
    }
    return fd;
}

/* A new TCP socket as every socket here is made (design notes).  fd or
 * LH_ESYS. */
static int tcp_socket(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return LH_ESYS;
    return with_nodelay(fd);
}

/* Binds fd to sa and listens; *port_out (when not NULL) gets the port
 * bound.  0 or LH_ESYS. */
static int bind_listen(int fd, const struct sockaddr_in *sa,
                       uint16_t *port_out)
{
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (const struct sockaddr *)sa, sizeof *sa) < 0 ||
        listen(fd, SOMAXCONN) < 0)
        return LH_ESYS;
    if (port_out != NULL) {
        struct sockaddr_in bound;
        socklen_t blen = sizeof bound;
        if (getsockname(fd, (struct sockaddr *)&bound, &blen) < 0)
            return LH_ESYS;
        *port_out = ntohs(bound.sin_port);
    }
    return 0;
}

int lh_net_listen(const char *host, uint16_t port, uint16_t *port_out)
{
    struct sockaddr_in sa;
    int rc = resolve(host, port, 1, &sa);
    if (rc < 0)
        return rc;
    int fd = tcp_socket();
    if (fd < 0)
        return fd;
    if (bind_listen(fd, &sa, port_out) < 0) {
        close_keep_errno(fd);
        return LH_ESYS;
    }
    return fd;
}

int lh_net_accept(int listen_fd)
{
    int fd;
    do {
        fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        /* A connection that died in the queue is "nothing to accept". */
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED)
            return LH_EAGAIN;
        return LH_ESYS;
    }
    return with_nodelay(fd);
}

/* Waits for the connect in progress on fd; 0, LH_ETIMEOUT or LH_ESYS. */
static int wait_connected(int fd, int timeout_ms)
{
    int64_t deadline = lh_now_us() + (int64_t)timeout_ms * 1000;
    for (;;) {
        int wait_ms = -1;
        if (timeout_ms >= 0) {
            int64_t left = deadline - lh_now_us();
            if (left < 0)
                left = 0;
            wait_ms = (int)((left + 999) / 1000);
        }
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int n = poll(&pfd, 1, wait_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return LH_ESYS;
        if (n == 0)
            return LH_ETIMEOUT;
        break;
    }
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        return LH_ESYS;
    if (soerr != 0) {
        errno = soerr;
        return LH_ESYS;
    }
    return 0;
}

int lh_net_connect(const char *addr, int timeout_ms)
{
    char host[HOST_MAX];
    uint16_t port;
    int rc = lh_net_split(addr, host, sizeof host, &port);
    if (rc < 0)
        return rc;
    if (port == 0)
        return LH_EINVAL;
    struct sockaddr_in sa;
    rc = resolve(host, port, 0, &sa);
    if (rc < 0)
        return rc;
    int fd = tcp_socket();
    if (fd < 0)
        return fd;
    rc = 0;
    if (connect(fd, (const struct sockaddr *)&sa, sizeof sa) < 0)
        rc = errno == EINPROGRESS || errno == EINTR
                 ? wait_connected(fd, timeout_ms)
                 : LH_ESYS;
    if (rc < 0) {
        close_keep_errno(fd);
        return rc;
    }
    return fd;
}

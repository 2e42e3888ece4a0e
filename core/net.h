/*
 * net.h - TCP socket helpers shared by every process of the pipeline.
 *
 * All sockets are non-blocking, close-on-exec, with TCP_NODELAY; addresses
 * are "host:port" strings (IPv4 dotted quad or a name resolved once).
 */
#ifndef LH_NET_H
#define LH_NET_H

#include <stddef.h>
#include <stdint.h>

/*
 * Listens on host:port (port 0: the kernel picks one; host NULL, "" or "*":
 * every interface).  Returns the listening fd and sets *port_out (if not
 * NULL) to the bound port, or LH_EINVAL (bad address) / LH_ESYS.
 *
 * Every function here that returns LH_ESYS leaves errno set to the cause
 * (EADDRINUSE, ECONNREFUSED...), for the caller's message.
 */
int lh_net_listen(const char *host, uint16_t port, uint16_t *port_out);

/* Accepts one connection (non-blocking).  fd, LH_EAGAIN, or LH_ESYS. */
int lh_net_accept(int listen_fd);

/*
 * Connects to "host:port", waiting up to timeout_ms for the connection
 * (negative: as long as the kernel tries).  Returns the connected
 * non-blocking fd, LH_EINVAL (bad address, port 0), LH_ETIMEOUT or LH_ESYS
 * (refused: errno ECONNREFUSED).
 */
int lh_net_connect(const char *addr, int timeout_ms);

/* Splits "host:port" into host (at most hostcap bytes with NUL) and port.
 * 0 or LH_EINVAL. */
int lh_net_split(const char *addr, char *host, size_t hostcap, uint16_t *port);

/* Makes fd non-blocking.  0 or LH_ESYS. */
int lh_net_nonblock(int fd);

#endif

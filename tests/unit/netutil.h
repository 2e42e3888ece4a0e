/*
 * netutil.h - what the unit suites that talk HTTP share: a URL on
 * loopback that nothing listens on.
 */
#ifndef LH_TEST_NETUTIL_H
#define LH_TEST_NETUTIL_H

#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

/* Writes http://127.0.0.1:PORT/metrics for a port nobody listens on (one
 * bound, then closed) into url. */
static inline void lh_test_closed_url(char *url, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    CU_ASSERT_EQUAL_FATAL(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    snprintf(url, cap, "http://127.0.0.1:%d/metrics", ntohs(a.sin_port));
}

#endif

/*
 * test_net.c - TCP helpers on real loopback sockets.
 */
#include "cu_main.h"

#include "clock.h"
#include "error.h"
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int has_flag(int fd, int flag)
{
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && (fl & flag) != 0;
}

static int has_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    return fl >= 0 && (fl & FD_CLOEXEC) != 0;
}

static int sockopt_on(int fd, int level, int name)
{
    int v = 0;
    socklen_t len = sizeof v;
    if (getsockopt(fd, level, name, &v, &len) < 0)
        return 0;
    return v != 0;
}

/* A listener on 127.0.0.1, any port; addr gets "HOST:port". */
static int listener(const char *host, char *addr, size_t cap)
{
    uint16_t port = 0;
    int l = lh_net_listen("127.0.0.1", 0, &port);
    CU_ASSERT_FATAL(l >= 0);
    snprintf(addr, cap, "%s:%u", host, (unsigned)port);
    return l;
}

/* 1 when a connect to a new listener, named HOST, succeeds. */
static int connects(const char *host, int timeout_ms)
{
    char addr[64];
    int l = listener(host, addr, sizeof addr);
    int c = lh_net_connect(addr, timeout_ms);
    if (c >= 0)
        close(c);
    close(l);
    return c >= 0;
}

static void test_net_split_parses_host_and_port(void)
{
    char host[64];
    uint16_t port = 0;
    CU_ASSERT_EQUAL(lh_net_split("127.0.0.1:9092", host, sizeof host, &port),
                    0);
    CU_ASSERT_STRING_EQUAL(host, "127.0.0.1");
    CU_ASSERT_EQUAL(port, 9092);
    CU_ASSERT_EQUAL(lh_net_split("localhost:0", host, sizeof host, &port), 0);
    CU_ASSERT_STRING_EQUAL(host, "localhost");
    CU_ASSERT_EQUAL(port, 0);
    CU_ASSERT_EQUAL(lh_net_split("h:65535", host, sizeof host, &port), 0);
    CU_ASSERT_EQUAL(port, 65535);
    /* The last colon separates the port. */
    CU_ASSERT_EQUAL(lh_net_split("a:b:1", host, sizeof host, &port), 0);
    CU_ASSERT_STRING_EQUAL(host, "a:b");
    CU_ASSERT_EQUAL(port, 1);
}

static void test_net_split_rejects_malformed_and_leaves_outputs_alone(void)
{
    const char *bad[] = {"",           "nohost",   ":80",
                         "host:",      "host:8x",  "host:-1",
                         "host:65536", "host: 80", "host:99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char host[16] = "unchanged";
        uint16_t port = 4242;
        CU_ASSERT_EQUAL(lh_net_split(bad[i], host, sizeof host, &port),
                        LH_EINVAL);
        CU_ASSERT_STRING_EQUAL(host, "unchanged");
        CU_ASSERT_EQUAL(port, 4242);
    }
    char host[16];
    uint16_t port;
    CU_ASSERT_EQUAL(lh_net_split(NULL, host, sizeof host, &port), LH_EINVAL);
}

static void test_net_split_rejects_a_host_longer_than_its_buffer(void)
{
    char host[5];
    uint16_t port;
    CU_ASSERT_EQUAL(lh_net_split("abcd:1", host, sizeof host, &port), 0);
    CU_ASSERT_STRING_EQUAL(host, "abcd");
    CU_ASSERT_EQUAL(lh_net_split("abcde:1", host, sizeof host, &port),
                    LH_EINVAL);
    CU_ASSERT_EQUAL(lh_net_split("a:1", host, 0, &port), LH_EINVAL);
}

static void test_net_listen_on_port_zero_reports_the_bound_port(void)
{
    uint16_t port = 0;
    int l = lh_net_listen("127.0.0.1", 0, &port);
    CU_ASSERT_FATAL(l >= 0);
    CU_ASSERT(port != 0);
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    CU_ASSERT_EQUAL_FATAL(getsockname(l, (struct sockaddr *)&sa, &len), 0);
    CU_ASSERT_EQUAL(ntohs(sa.sin_port), port);
    CU_ASSERT_EQUAL(ntohl(sa.sin_addr.s_addr), INADDR_LOOPBACK);
    close(l);
}

static void test_net_listener_is_nonblocking_cloexec_reuseaddr_nodelay(void)
{
    int l = lh_net_listen("127.0.0.1", 0, NULL);
    CU_ASSERT_FATAL(l >= 0);
    CU_ASSERT(has_flag(l, O_NONBLOCK));
    CU_ASSERT(has_cloexec(l));
    CU_ASSERT(sockopt_on(l, SOL_SOCKET, SO_REUSEADDR));
    CU_ASSERT(sockopt_on(l, IPPROTO_TCP, TCP_NODELAY));
    CU_ASSERT(sockopt_on(l, SOL_SOCKET, SO_ACCEPTCONN));
    close(l);
}

static void test_net_listen_on_any_address_forms(void)
{
    const char *any[] = {NULL, "", "*", "0.0.0.0"};
    for (size_t i = 0; i < sizeof any / sizeof any[0]; i++) {
        int l = lh_net_listen(any[i], 0, NULL);
        CU_ASSERT_FATAL(l >= 0);
        struct sockaddr_in sa;
        socklen_t len = sizeof sa;
        CU_ASSERT_EQUAL(getsockname(l, (struct sockaddr *)&sa, &len), 0);
        CU_ASSERT_EQUAL(sa.sin_addr.s_addr, htonl(INADDR_ANY));
        close(l);
    }
}

static void test_net_listen_on_a_port_in_use_is_sys(void)
{
    uint16_t port = 0;
    int l = lh_net_listen("127.0.0.1", 0, &port);
    CU_ASSERT_FATAL(l >= 0);
    uint16_t untouched = 7;
    errno = 0;
    CU_ASSERT_EQUAL(lh_net_listen("127.0.0.1", port, &untouched), LH_ESYS);
    CU_ASSERT_EQUAL(errno, EADDRINUSE);
    CU_ASSERT_EQUAL(untouched, 7);
    close(l);
}

static void test_net_listen_resolves_localhost(void)
{
    uint16_t port = 0;
    int l = lh_net_listen("localhost", 0, &port);
    CU_ASSERT_FATAL(l >= 0);
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    CU_ASSERT_EQUAL(getsockname(l, (struct sockaddr *)&sa, &len), 0);
    CU_ASSERT_EQUAL(ntohl(sa.sin_addr.s_addr) >> 24, 127);
    close(l);
}

static int wait_readable(int fd, int ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    return poll(&pfd, 1, ms);
}

static void test_net_connect_and_accept_on_loopback_carry_bytes(void)
{
    char addr[64];
    int l = listener("127.0.0.1", addr, sizeof addr);
    int c = lh_net_connect(addr, 2000);
    CU_ASSERT_FATAL(c >= 0);
    CU_ASSERT_EQUAL_FATAL(wait_readable(l, 2000), 1);
    int s = lh_net_accept(l);
    CU_ASSERT_FATAL(s >= 0);

    int fds[2] = {c, s};
    for (int i = 0; i < 2; i++) {
        CU_ASSERT(has_flag(fds[i], O_NONBLOCK));
        CU_ASSERT(has_cloexec(fds[i]));
        CU_ASSERT(sockopt_on(fds[i], IPPROTO_TCP, TCP_NODELAY));
    }
    CU_ASSERT_EQUAL(send(c, "ping", 4, MSG_NOSIGNAL), 4);
    CU_ASSERT_EQUAL_FATAL(wait_readable(s, 2000), 1);
    char got[8] = {0};
    CU_ASSERT_EQUAL(recv(s, got, sizeof got, 0), 4);
    CU_ASSERT(memcmp(got, "ping", 4) == 0);
    CU_ASSERT_EQUAL(send(s, "pong", 4, MSG_NOSIGNAL), 4);
    CU_ASSERT_EQUAL_FATAL(wait_readable(c, 2000), 1);
    CU_ASSERT_EQUAL(recv(c, got, sizeof got, 0), 4);
    CU_ASSERT(memcmp(got, "pong", 4) == 0);
    close(c);
    close(s);
    close(l);
}

static void test_net_connect_by_name_resolves_localhost(void)
{
    CU_ASSERT(connects("localhost", 2000));
}

static void test_net_connect_with_negative_timeout_waits_for_the_kernel(void)
{
    CU_ASSERT(connects("127.0.0.1", -1));
}

static void test_net_accept_with_nothing_pending_is_again(void)
{
    int l = lh_net_listen("127.0.0.1", 0, NULL);
    CU_ASSERT_FATAL(l >= 0);
    CU_ASSERT_EQUAL(lh_net_accept(l), LH_EAGAIN);
    close(l);
}

static void test_net_accept_on_a_non_listener_is_sys(void)
{
    CU_ASSERT_EQUAL(lh_net_accept(-1), LH_ESYS);
}

static void test_net_connect_to_a_closed_port_is_refused(void)
{
    char addr[64];
    close(listener("127.0.0.1", addr, sizeof addr)); /* nothing there now */
    errno = 0;
    int64_t t0 = lh_now_us();
    CU_ASSERT_EQUAL(lh_net_connect(addr, 2000), LH_ESYS);
    CU_ASSERT_EQUAL(errno, ECONNREFUSED);
    CU_ASSERT(lh_now_us() - t0 < 1500000); /* refused, not timed out */
}

static void test_net_connect_times_out_when_the_backlog_is_full(void)
{
    /* A listener with backlog 0 that never accepts: once its queue is
     * full the kernel drops further SYNs, so a connect hangs. */
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CU_ASSERT_FATAL(l >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    CU_ASSERT_EQUAL_FATAL(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
    CU_ASSERT_EQUAL_FATAL(listen(l, 0), 0);
    CU_ASSERT_EQUAL_FATAL(getsockname(l, (struct sockaddr *)&sa, &len), 0);
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));

    enum { FILLERS = 4 };
    int filler[FILLERS];
    for (int i = 0; i < FILLERS; i++) {
        filler[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        CU_ASSERT_FATAL(filler[i] >= 0);
        connect(filler[i], (struct sockaddr *)&sa, sizeof sa);
    }
    lh_sleep_us(50000);
    int64_t t0 = lh_now_us();
    int c = lh_net_connect(addr, 300);
    int64_t elapsed_ms = (lh_now_us() - t0) / 1000;
    CU_ASSERT_EQUAL(c, LH_ETIMEOUT);
    CU_ASSERT(elapsed_ms >= 290);
    CU_ASSERT(elapsed_ms < 1000);
    if (c >= 0)
        close(c);
    for (int i = 0; i < FILLERS; i++)
        close(filler[i]);
    close(l);
}

static void test_net_connect_rejects_bad_addresses(void)
{
    const char *bad[] = {"127.0.0.1", "127.0.0.1:", "127.0.0.1:70000",
                         "127.0.0.1:0", ":80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT_EQUAL(lh_net_connect(bad[i], 100), LH_EINVAL);
}

static void test_net_nonblock_sets_the_flag_and_fails_on_bad_fd(void)
{
    int fds[2];
    CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
    CU_ASSERT_FALSE(has_flag(fds[0], O_NONBLOCK));
    CU_ASSERT_EQUAL(lh_net_nonblock(fds[0]), 0);
    CU_ASSERT(has_flag(fds[0], O_NONBLOCK));
    CU_ASSERT_EQUAL(lh_net_nonblock(fds[0]), 0); /* idempotent */
    CU_ASSERT(has_flag(fds[0], O_NONBLOCK));
    char c;
    CU_ASSERT_EQUAL(read(fds[0], &c, 1), -1);
    CU_ASSERT_EQUAL(errno, EAGAIN);
    CU_ASSERT_EQUAL(lh_net_nonblock(-1), LH_ESYS);
    close(fds[0]);
    close(fds[1]);
}

static CU_TestInfo tests[] = {
    {"split parses host and port", test_net_split_parses_host_and_port},
    {"split rejects malformed and leaves outputs alone",
     test_net_split_rejects_malformed_and_leaves_outputs_alone},
    {"split rejects a host longer than its buffer",
     test_net_split_rejects_a_host_longer_than_its_buffer},
    {"listen on port 0 reports the bound port",
     test_net_listen_on_port_zero_reports_the_bound_port},
    {"listener is nonblocking, cloexec, reuseaddr, nodelay",
     test_net_listener_is_nonblocking_cloexec_reuseaddr_nodelay},
    {"listen on any-address forms", test_net_listen_on_any_address_forms},
    {"listen on a port in use is SYS", test_net_listen_on_a_port_in_use_is_sys},
    {"listen resolves localhost", test_net_listen_resolves_localhost},
    {"connect and accept on loopback carry bytes",
     test_net_connect_and_accept_on_loopback_carry_bytes},
    {"connect by name resolves localhost",
     test_net_connect_by_name_resolves_localhost},
    {"connect with negative timeout waits for the kernel",
     test_net_connect_with_negative_timeout_waits_for_the_kernel},
    {"accept with nothing pending is AGAIN",
     test_net_accept_with_nothing_pending_is_again},
    {"accept on a non-listener is SYS",
     test_net_accept_on_a_non_listener_is_sys},
    {"connect to a closed port is refused",
     test_net_connect_to_a_closed_port_is_refused},
    {"connect times out when the backlog is full",
     test_net_connect_times_out_when_the_backlog_is_full},
    {"connect rejects bad addresses", test_net_connect_rejects_bad_addresses},
    {"nonblock sets the flag and fails on bad fd",
     test_net_nonblock_sets_the_flag_and_fails_on_bad_fd},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("net", tests)

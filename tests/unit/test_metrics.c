/*
 * test_metrics.c - a node's /metrics (stages/metrics.h): the series it
 * writes, and the HTTP server driven from the caller's loop, asked by a
 * real socket client.
 */
#include "cu_main.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "clock.h"
#include "counters.h"
#include "error.h"
#include "metrics.h"
#include "net.h"

/* The buffer's text, NUL-terminated in a copy the caller frees. */
static char *text_of(const lh_buf *b)
{
    char *t = lh_calloc(1, lh_buf_len(b) + 1);
    if (t != NULL && lh_buf_len(b) > 0)
        memcpy(t, lh_buf_peek(b), lh_buf_len(b));
    return t;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_metrics_nodes_write_each_family_once_typed(void)
{
    lh_counters c0, c1;
    lh_buf out = LH_BUF_INIT;

    memset(&c0, 0, sizeof c0);
    memset(&c1, 0, sizeof c1);
    c0.v[LH_C_finished] = 18446744073709551615u; /* exact at any size */
    c1.v[LH_C_finished] = 7;
    c1.v[LH_C_outstanding] = 3;
    lh_metrics_node_info nodes[] = {
        {.labels = "role=\"b\",node=\"b0\"", .c = &c0, .heap_live = 1000,
         .has_heap = 1, .rss = 4096, .has_rss = 1, .start_time = 1.5e9,
         .stages = "forward,hash"},
        {.labels = "role=\"b\",node=\"b1\"", .c = &c1,
         .stages = "a\"b\\c"},
        {.labels = "role=\"broker\",node=\"broker\""},
    };
    CU_ASSERT_FATAL(lh_metrics_nodes(&out, nodes, 3) == 0);
    char *t = text_of(&out);
    CU_ASSERT_FATAL(t != NULL);
    CU_ASSERT(count(t, "# TYPE selfheal_finished_total counter\n") == 1);
    CU_ASSERT(strstr(t, "selfheal_finished_total{role=\"b\",node=\"b0\"} "
                        "18446744073709551615\n") != NULL);
    CU_ASSERT(strstr(t, "selfheal_finished_total{role=\"b\",node=\"b1\"} "
                        "7\n") != NULL);
    CU_ASSERT(strstr(t, "# TYPE selfheal_outstanding gauge\n") != NULL);
    CU_ASSERT(strstr(t, "selfheal_outstanding_total") == NULL);
    /* Gauges of their own, once each, only where known. */
    CU_ASSERT(count(t, "# TYPE process_resident_memory_bytes gauge") == 1);
    CU_ASSERT(count(t, "process_resident_memory_bytes{") == 1);
    CU_ASSERT(strstr(t, "selfheal_heap_live_bytes{role=\"b\",node=\"b0\"} "
                        "1000\n") != NULL);
    CU_ASSERT(strstr(t, "process_start_time_seconds{role=\"b\",node=\"b0\"} "
                        "1500000000\n") != NULL);
    CU_ASSERT(strstr(t, "leakhunt_stages{role=\"b\",node=\"b0\","
                        "stages=\"forward,hash\"} 1\n") != NULL);
    CU_ASSERT(strstr(t, "stages=\"a\\\"b\\\\c\"} 1\n") != NULL);
    /* The broker has no counters: no counter series for it. */
    CU_ASSERT(strstr(t, "node=\"broker\"") == NULL);
    CU_ASSERT(strstr(t, "heap_live_total") == NULL);
    CU_ASSERT(strstr(t, "stages_mask") == NULL);
    lh_free(t);
    lh_buf_free(&out);
}

static void test_metrics_node_alone_is_unlabelled(void)
{
    lh_counters c;
    lh_buf out = LH_BUF_INIT;

    memset(&c, 0, sizeof c);
    c.v[LH_C_finished] = 5;
    lh_metrics_node_info node = {.labels = "", .c = &c, .start_time = 2.5,
                                 .stages = "-"};
    CU_ASSERT_FATAL(lh_metrics_nodes(&out, &node, 1) == 0);
    char *t = text_of(&out);
    CU_ASSERT(strstr(t, "\nselfheal_finished_total 5\n") != NULL);
    CU_ASSERT(strstr(t, "\nprocess_start_time_seconds 2.5\n") != NULL);
    CU_ASSERT(strstr(t, "\nleakhunt_stages{stages=\"-\"} 1\n") != NULL);
    CU_ASSERT(strstr(t, "{}") == NULL);
    lh_free(t);
    lh_buf_free(&out);
}

static void test_metrics_escape_quotes_backslashes_newlines(void)
{
    char buf[32];

    CU_ASSERT_STRING_EQUAL(lh_metrics_escape("a\"b\\c\nd", buf, sizeof buf),
                           "a\\\"b\\\\c\\nd");
    CU_ASSERT_STRING_EQUAL(lh_metrics_escape("abcdefgh", buf, 6), "abc");
    CU_ASSERT_STRING_EQUAL(lh_metrics_escape(NULL, buf, sizeof buf), "");
}

/* ---- the server, asked by a socket client ---- */

static int render_calls;
static int render_fails;

static int render(void *arg, lh_buf *out)
{
    (void)arg;
    render_calls++;
    if (render_fails)
        return LH_EIO;
    return lh_buf_append(out, "x_total 1\n", 10);
}

/* Sends `request` to the server and returns its whole answer (the server
 * closes the connection after an HTTP/1.0 answer), serving it from this
 * loop as a node would.  Caller frees. */
static char *ask(lh_metrics *m, const char *request)
{
    char addr[32];
    lh_buf got = LH_BUF_INIT;
    snprintf(addr, sizeof addr, "127.0.0.1:%u", lh_metrics_port(m));
    int fd = lh_net_connect(addr, 1000);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(write(fd, request, strlen(request)) ==
                    (ssize_t)strlen(request));
    int64_t end = lh_now_us() + 5000000;
    while (lh_now_us() < end) {
        struct pollfd pfd[2] = {{.fd = lh_metrics_fd(m), .events = POLLIN},
                                {.fd = fd, .events = POLLIN}};
        CU_ASSERT(poll(pfd, 2, lh_metrics_wait_ms(m)) >= 0);
        lh_metrics_run(m);
        if (pfd[1].revents == 0)
            continue;
        char chunk[4096];
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n == 0)
            break;
        if (n > 0)
            CU_ASSERT(lh_buf_append(&got, chunk, (size_t)n) == 0);
    }
    close(fd);
    char *t = text_of(&got);
    lh_buf_free(&got);
    return t;
}

static void test_metrics_server_answers_200_404_405_500(void)
{
    lh_metrics *m = NULL;

    CU_ASSERT_FATAL(lh_metrics_start(0, render, NULL, &m) == 0);
    CU_ASSERT(lh_metrics_port(m) > 0);
    char *a = ask(m, "GET /metrics HTTP/1.0\r\n\r\n");
    CU_ASSERT(strncmp(a, "HTTP/1.0 200", 12) == 0 ||
              strncmp(a, "HTTP/1.1 200", 12) == 0);
    CU_ASSERT(strstr(a, "Content-Type: text/plain; version=0.0.4") != NULL);
    CU_ASSERT(strstr(a, "\r\n\r\nx_total 1\n") != NULL);
    lh_free(a);
    CU_ASSERT(lh_metrics_scrapes(m) == 1);
    a = ask(m, "GET /other HTTP/1.0\r\n\r\n");
    CU_ASSERT(strstr(a, " 404 ") != NULL);
    lh_free(a);
    a = ask(m, "DELETE /metrics HTTP/1.0\r\n\r\n");
    CU_ASSERT(strstr(a, " 405 ") != NULL);
    lh_free(a);
    render_fails = 1;
    a = ask(m, "GET /metrics HTTP/1.0\r\n\r\n");
    CU_ASSERT(strstr(a, " 500 ") != NULL);
    lh_free(a);
    render_fails = 0;
    CU_ASSERT(render_calls == 2);
    CU_ASSERT(lh_metrics_scrapes(m) == 1);

    /* The port is taken while it serves. */
    lh_metrics *again = NULL;
    CU_ASSERT(lh_metrics_start(lh_metrics_port(m), render, NULL, &again) ==
              LH_ESYS);
    CU_ASSERT(again == NULL);
    lh_metrics_stop(m);
    lh_metrics_stop(NULL);
}

static CU_TestInfo tests[] = {
    {"nodes write each family once, typed",
     test_metrics_nodes_write_each_family_once_typed},
    {"a node alone is unlabelled", test_metrics_node_alone_is_unlabelled},
    {"escape quotes, backslashes, newlines",
     test_metrics_escape_quotes_backslashes_newlines},
    {"server answers 200, 404, 405, 500",
     test_metrics_server_answers_200_404_405_500},
    CU_TEST_INFO_NULL,
};

LH_CU_MAIN("metrics", tests)

/*
 * metrics.h - a node's Prometheus /metrics (text exposition format 0.0.4)
 * over HTTP, served by libmicrohttpd from the node's own loop: no thread
 * of its own (docs/selfheal.md, "Metrics").
 *
 * The server answers GET and HEAD of /metrics with what the node's render
 * callback writes, as `text/plain; version=0.0.4; charset=utf-8`; any
 * other path is 404, any other method 405.  It is driven by the caller:
 * lh_metrics_fd is one descriptor (libmicrohttpd's epoll set) to poll for
 * POLLIN beside the node's own, and lh_metrics_run serves what is ready
 * (call it when the descriptor is readable, and at least every
 * lh_metrics_wait_ms so that idle connections time out).  The render
 * callback runs inside lh_metrics_run, on the caller's thread, so it may
 * read the node's state without locks.
 *
 * The series helpers write the families every node serves (lh_metrics_
 * node): its counters (counters.h) as `selfheal_NAME_total` (type
 * counter) or `selfheal_NAME` (gauges), process_resident_memory_bytes,
 * selfheal_heap_live_bytes, process_start_time_seconds, and the stages it
 * runs as `leakhunt_stages{...,stages="LIST"} 1` (docs/protocol.md
 * section 9), each with the node's labels.  A node that serves only
 * itself has none (as a Prometheus exporter of one process: the scraper
 * adds its job and instance), so that leak-hunt sees an unlabelled
 * process_start_time_seconds (its restart signal) and selects a series
 * by its bare name.
 */
#ifndef LH_METRICS_H
#define LH_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "counters.h"

typedef struct lh_metrics lh_metrics;

/* Writes the whole answer to /metrics into out (appending).  0, or an
 * error (the scrape then gets 500). */
typedef int (*lh_metrics_render_fn)(void *arg, lh_buf *out);

/* Listens on every IPv4 address, port `port` (0: one the kernel picks).
 * 0 and *out; LH_ESYS (cannot listen: the port is taken, ...; errno
 * kept), LH_ENOMEM. */
int lh_metrics_start(uint16_t port, lh_metrics_render_fn render, void *arg,
                     lh_metrics **out);

/* The port listened on. */
uint16_t lh_metrics_port(const lh_metrics *m);

/* The descriptor to poll for POLLIN. */
int lh_metrics_fd(const lh_metrics *m);

/* Longest the caller may wait before calling lh_metrics_run (ms, at most
 * 1000). */
int lh_metrics_wait_ms(lh_metrics *m);

/* Serves what is ready without blocking. */
void lh_metrics_run(lh_metrics *m);

/* Closes every connection and the listener.  Accepts NULL. */
void lh_metrics_stop(lh_metrics *m);

/* Scrapes answered with 200 so far. */
uint64_t lh_metrics_scrapes(const lh_metrics *m);

/* ---- series ---- */

/* One node's figures. */
typedef struct lh_metrics_node_info {
    const char *labels;   /* `role="b",node="b0"`: every series gets them;
                             "" for a node that serves only itself */
    const lh_counters *c; /* counters (over the node's restarts); NULL:
                             none (the broker) */
    uint64_t heap_live;   /* its current instance's */
    int has_heap;
    uint64_t rss; /* process_resident_memory_bytes; has_rss */
    int has_rss;
    double start_time;  /* process_start_time_seconds, 0: unknown */
    const char *stages; /* the list it runs, NULL: not said */
} lh_metrics_node_info;

/* Families: one call per family, then its series.  `help` and `type`
 * ("counter", "gauge") once per family: each family must be written in
 * one piece (the format does not allow its series to be split). */
int lh_metrics_family(lh_buf *out, const char *name, const char *type,
                      const char *help);

/* One sample: name{labels} value (labels may be NULL or ""). */
int lh_metrics_sample(lh_buf *out, const char *name, const char *labels,
                      double value);

/* Every family for nodes[0 .. n) (one series per node each), families
 * written whole.  0 or LH_ENOMEM. */
int lh_metrics_nodes(lh_buf *out, const lh_metrics_node_info *nodes,
                     size_t n);

/* Escapes a label value (\\, \", \n) into dst[0..cap); returns dst. */
const char *lh_metrics_escape(const char *v, char *dst, size_t cap);

#endif

/*
 * scrape.h - fetching a Prometheus endpoint over HTTP(S) with libcurl.
 *
 * One scraper per URL keeps one curl handle, so its connection (and TLS
 * session) is reused from one scrape to the next: polling ten times a
 * second costs a request on an open connection, not a new connection
 * each time.  A scrape is GET URL with "Accept: text/plain;
 * version=0.0.4", gzip accepted; it succeeds only with HTTP 200 and a body
 * that parses (promtext.h).  Everything else is an error whose message
 * names the URL and what went wrong: the connection (refused, timed out,
 * a TLS failure), the status ("HTTP 404"), the size, the Content-Type
 * (one that is clearly not the text format: HTML, JSON, protobuf), or the
 * body ("line 3: ..." from the parser).
 *
 * Only http:// and https:// URLs are accepted, redirects included (at
 * most 3).  The handle is not shared between threads.
 */
#ifndef LH_SCRAPE_H
#define LH_SCRAPE_H

#include "promtext.h"

#include <stddef.h>

#define LH_SCRAPE_CONNECT_MS 1000
#define LH_SCRAPE_TIMEOUT_MS 2000
#define LH_SCRAPE_MAX_BYTES (16u << 20)

typedef struct lh_scrape_opts {
    long connect_ms;     /* connection timeout (0: LH_SCRAPE_CONNECT_MS) */
    long timeout_ms;     /* whole request (0: LH_SCRAPE_TIMEOUT_MS) */
    size_t max_bytes;    /* body, after gzip (0: LH_SCRAPE_MAX_BYTES) */
    const char *ca_file; /* https: CA bundle to trust, or NULL: the
                            system's */
    int insecure;        /* https: do not verify the peer (tests only) */
} lh_scrape_opts;

typedef struct lh_scraper lh_scraper;

/*
 * A scraper for `url` (copied) with `opts` (NULL: the defaults).  No
 * request is made yet.  0 and *out, LH_EINVAL (why: not an http(s) URL),
 * or LH_ENOMEM / LH_EIO (libcurl could not be set up; why says so).
 */
int lh_scraper_new(const char *url, const lh_scrape_opts *opts,
                   lh_scraper **out, char *why, size_t whylen);

/* Frees the scraper and closes its connection.  Accepts NULL. */
void lh_scraper_free(lh_scraper *sc);

/*
 * Scrapes once.  0 with the parsed body in *out (the caller frees it with
 * lh_prom_free); otherwise *out is untouched and why says what failed,
 * naming the URL:
 *   LH_ETIMEOUT  the connection or the request timed out
 *   LH_EIO       no connection (refused, DNS, TLS), or an HTTP status
 *                other than 200
 *   LH_ETOOBIG   a body over max_bytes
 *   LH_EPARSE    a Content-Type that is not the text format, or a body
 *                that is not the exposition format
 *   LH_ENOMEM
 */
int lh_scraper_get(lh_scraper *sc, lh_prom_scrape **out, char *why,
                   size_t whylen);

/* The last scrape: its HTTP status (0 when none came back), its body's
 * size, and how long it took in seconds, split into the transfer and
 * the parse.  Zeros before the first scrape. */
long lh_scraper_status(const lh_scraper *sc);
size_t lh_scraper_bytes(const lh_scraper *sc);
double lh_scraper_fetch_seconds(const lh_scraper *sc);
double lh_scraper_parse_seconds(const lh_scraper *sc);

/* The URL as given. */
const char *lh_scraper_url(const lh_scraper *sc);

#endif

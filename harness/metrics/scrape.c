/*
 * Design: one easy handle per scraper, configured once, so libcurl keeps
 * the connection (and its TLS session) open between scrapes; the body
 * buffer is kept too and only grows to the largest body seen.  libcurl's
 * global state is set up with the first scraper and torn down with the
 * last (a count: leak-hunt is single-threaded here), so a program that
 * frees its scrapers leaves nothing behind for valgrind.  The size limit
 * holds twice: CURLOPT_MAXFILESIZE stops a body announced too big before
 * it comes, and the write callback stops one that grows past it (chunked,
 * or gzip that inflates: the limit is on what we keep).
 */
#include "scrape.h"

#include "alloc.h"
#include "clock.h"
#include "error.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct lh_scraper {
    CURL *curl;
    char *url;
    struct curl_slist *headers;
    lh_scrape_opts o;
    char *body;
    size_t len, cap;
    int too_big;
    char errbuf[CURL_ERROR_SIZE];
    long status;
    double fetch_s, parse_s;
};

static unsigned curl_users; /* scrapers alive: libcurl's global state */

static int global_up(void)
{
    if (curl_users == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return LH_EIO;
    curl_users++;
    return 0;
}

static void global_down(void)
{
    if (curl_users > 0 && --curl_users == 0)
        curl_global_cleanup();
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    lh_scraper *sc = arg;
    size_t bytes = size * n;
    if (sc->len + bytes > sc->o.max_bytes) {
        sc->too_big = 1;
        return 0; /* CURLE_WRITE_ERROR */
    }
    if (lh_grow((void **)&sc->body, &sc->cap, sc->len + bytes + 1, 1, 65536) <
        0)
        return 0;
    memcpy(sc->body + sc->len, data, bytes);
    sc->len += bytes;
    return bytes;
}

static int http_url(const char *url)
{
    return strncasecmp(url, "http://", 7) == 0 ||
           strncasecmp(url, "https://", 8) == 0;
}

/* The handle's options, set once.  0, or LH_EIO. */
static int configure(lh_scraper *sc)
{
    CURL *c = sc->curl;
    const lh_scrape_opts *o = &sc->o;
    sc->headers = curl_slist_append(NULL, "Accept: text/plain; "
                                          "version=0.0.4;q=1, */*;q=0.1");
    if (sc->headers == NULL)
        return LH_ENOMEM;
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                          \
    if (rc == CURLE_OK)                                                        \
    rc = curl_easy_setopt(c, opt, val)
    SET(CURLOPT_URL, sc->url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 1L);
    SET(CURLOPT_MAXREDIRS, 3L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, o->connect_ms);
    SET(CURLOPT_TIMEOUT_MS, o->timeout_ms);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_bytes);
    SET(CURLOPT_ACCEPT_ENCODING, "");
    SET(CURLOPT_HTTPHEADER, sc->headers);
    SET(CURLOPT_USERAGENT, "leak-hunt");
    SET(CURLOPT_ERRORBUFFER, sc->errbuf);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, sc);
    if (o->ca_file)
        SET(CURLOPT_CAINFO, o->ca_file);
    if (o->insecure) {
        SET(CURLOPT_SSL_VERIFYPEER, 0L);
        SET(CURLOPT_SSL_VERIFYHOST, 0L);
    }
#undef SET
    return rc == CURLE_OK ? 0 : LH_EIO;
}

int lh_scraper_new(const char *url, const lh_scrape_opts *opts,
                   lh_scraper **out, char *why, size_t whylen)
{
    if (!http_url(url)) {
        lh_set_why(why, whylen,
                   "metrics URL '%.200s' is not http:// or "
                   "https://",
                   url);
        return LH_EINVAL;
    }
    lh_scraper *sc = lh_calloc(1, sizeof *sc);
    if (sc == NULL)
        return LH_ENOMEM;
    if (opts)
        sc->o = *opts;
    if (sc->o.connect_ms <= 0)
        sc->o.connect_ms = LH_SCRAPE_CONNECT_MS;
    if (sc->o.timeout_ms <= 0)
        sc->o.timeout_ms = LH_SCRAPE_TIMEOUT_MS;
    if (sc->o.max_bytes == 0)
        sc->o.max_bytes = LH_SCRAPE_MAX_BYTES;
    sc->url = lh_strdup(url);
    int rc = sc->url ? global_up() : LH_ENOMEM;
    if (rc == 0) {
        sc->curl = curl_easy_init();
        rc = sc->curl ? configure(sc) : LH_EIO;
        if (sc->curl == NULL)
            global_down();
    }
    if (rc < 0) {
        if (rc == LH_EIO)
            lh_set_why(why, whylen, "cannot set up libcurl for %.200s", url);
        lh_scraper_free(sc);
        return rc;
    }
    sc->o.ca_file = NULL; /* not kept: libcurl copied it */
    *out = sc;
    return 0;
}

void lh_scraper_free(lh_scraper *sc)
{
    if (sc == NULL)
        return;
    if (sc->curl) {
        curl_easy_cleanup(sc->curl);
        global_down();
    }
    curl_slist_free_all(sc->headers);
    lh_free(sc->body);
    lh_free(sc->url);
    lh_free(sc);
}

/* A transfer that failed: the code and the message. */
static int transfer_failed(lh_scraper *sc, CURLcode cc, char *why,
                           size_t whylen)
{
    const char *detail = sc->errbuf[0] ? sc->errbuf : curl_easy_strerror(cc);
    if (sc->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
        lh_set_why(why, whylen,
                   "cannot scrape %.200s: the body is over %zu "
                   "bytes",
                   sc->url, sc->o.max_bytes);
        return LH_ETOOBIG;
    }
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        lh_set_why(why, whylen,
                   "cannot scrape %.200s: timed out (connect "
                   "%ld ms, whole request %ld ms): %s",
                   sc->url, sc->o.connect_ms, sc->o.timeout_ms, detail);
        return LH_ETIMEOUT;
    }
    if (cc == CURLE_WRITE_ERROR) { /* the callback's allocation failed */
        lh_set_why(why, whylen, "cannot scrape %.200s: out of memory", sc->url);
        return LH_ENOMEM;
    }
    lh_set_why(why, whylen, "cannot scrape %.200s: %s", sc->url, detail);
    return LH_EIO;
}

/* The start of the body, printable, for a status message. */
static void body_hint(const lh_scraper *sc, char *buf, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < sc->len && n + 1 < cap && n < 80; i++) {
        unsigned char c = (unsigned char)sc->body[i];
        if (c == '\n' || c == '\r')
            break;
        buf[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    buf[n] = '\0';
}

/* A Content-Type that cannot be the text format (checked loosely: only
 * the known others are refused, and a missing one is fine). */
static int wrong_type(const char *ct)
{
    static const char *const refused[] = {
        "text/html", "application/json", "application/vnd.google.protobuf",
        "application/x-protobuf", "application/protobuf"};
    if (ct == NULL)
        return 0;
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (strncasecmp(ct, refused[i], strlen(refused[i])) == 0)
            return 1;
    return 0;
}

/* The response's status and type: 0, or the error. */
static int check_response(lh_scraper *sc, char *why, size_t whylen)
{
    char *ct = NULL, hint[96];
    curl_easy_getinfo(sc->curl, CURLINFO_RESPONSE_CODE, &sc->status);
    if (sc->status != 200) {
        body_hint(sc, hint, sizeof hint);
        lh_set_why(why, whylen, "cannot scrape %.200s: HTTP %ld%s%s%s", sc->url,
                   sc->status, hint[0] ? " ('" : "", hint, hint[0] ? "')" : "");
        return LH_EIO;
    }
    curl_easy_getinfo(sc->curl, CURLINFO_CONTENT_TYPE, &ct);
    if (wrong_type(ct)) {
        lh_set_why(why, whylen,
                   "cannot scrape %.200s: it serves %.100s, not "
                   "the Prometheus text format (text/plain; "
                   "version=0.0.4)",
                   sc->url, ct);
        return LH_EPARSE;
    }
    return 0;
}

int lh_scraper_get(lh_scraper *sc, lh_prom_scrape **out, char *why,
                   size_t whylen)
{
    sc->len = 0;
    sc->too_big = 0;
    sc->errbuf[0] = '\0';
    sc->status = 0;
    sc->parse_s = 0;
    int64_t t0 = lh_now_us();
    CURLcode cc = curl_easy_perform(sc->curl);
    int64_t t1 = lh_now_us();
    sc->fetch_s = (double)(t1 - t0) / 1e6;
    if (cc != CURLE_OK)
        return transfer_failed(sc, cc, why, whylen);
    int rc = check_response(sc, why, whylen);
    if (rc < 0)
        return rc;
    char reason[256];
    rc = lh_prom_parse(sc->body ? sc->body : "", sc->len, out, reason,
                       sizeof reason);
    sc->parse_s = (double)(lh_now_us() - t1) / 1e6;
    if (rc == LH_EPARSE)
        lh_set_why(why, whylen,
                   "%.200s does not serve the Prometheus text "
                   "format: %s",
                   sc->url, reason);
    else if (rc < 0)
        lh_set_why(why, whylen, "cannot scrape %.200s: %s", sc->url,
                   lh_strerror(rc));
    return rc;
}

long lh_scraper_status(const lh_scraper *sc)
{
    return sc->status;
}

size_t lh_scraper_bytes(const lh_scraper *sc)
{
    return sc->len;
}

double lh_scraper_fetch_seconds(const lh_scraper *sc)
{
    return sc->fetch_s;
}

double lh_scraper_parse_seconds(const lh_scraper *sc)
{
    return sc->parse_s;
}

const char *lh_scraper_url(const lh_scraper *sc)
{
    return sc->url;
}

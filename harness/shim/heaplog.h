/*
 * heaplog.h - the files the heap tool's preloaded shim (heapshim.c) and
 * leak-hunt share in a run's directory.  One definition for both sides:
 * the shim writes them from inside the processes under test, the sampler
 * (harness/measure/sampler.c) and the heap tool (tool_heap.c) read them.
 *
 *   heap-live.log   every 100 ms, each process that has the shim writes
 *                   one line with a single write(2) on an O_APPEND
 *                   descriptor (so lines of several processes never mix):
 *                       pid=<pid> heap=<bytes> from=<tcmalloc|sanitizer>
 *                   the live heap as its allocator counts it: tcmalloc's
 *                   generic.current_allocated_bytes, or, in a process
 *                   built with a sanitizer, the sanitizer allocator's
 *                   __sanitizer_get_current_allocated_bytes.
 *   heap-dump.req   one decimal number, the latest dump asked for; the
 *                   tool replaces the file whole (rename), each shim
 *                   polls it every 100 ms and answers it when it is new
 *                   and at most LH_HEAPLOG_FRESH_MS old (by its mtime).
 *   heap.<pid>.<n>.heap
 *                   the profile of process <pid> for request <n> (%04d),
 *                   renamed into place once complete: a file that exists
 *                   is whole.  Requests a process missed (it started
 *                   later, or it was busy) have no file.
 *   .staging/       where gperftools writes a profile before the rename
 *                   (<pid>.<gperftools' count>.heap).
 *   heap-wrap.log   one line per process the wrapper left without the
 *                   profiler, and why (cmd_heapwrap.c):
 *                       pid=<pid> <program>: <why>
 */
#ifndef LH_HEAPLOG_H
#define LH_HEAPLOG_H

/* The shim's file name; it lies beside the leak-hunt binary. */
#define LH_HEAPLOG_SHIM "libleakhunt-heap.so"

/* The run directory, for the shim (set by the wrapper, inherited by the
 * children of the processes it starts). */
#define LH_HEAPLOG_ENV_DIR "LEAKHUNT_HEAP_DIR"

#define LH_HEAPLOG_LIVE "heap-live.log"
#define LH_HEAPLOG_REQUEST "heap-dump.req"
#define LH_HEAPLOG_STAGING ".staging"
#define LH_HEAPLOG_WRAP "heap-wrap.log"

/* The keys of a heap-live.log line, in their order. */
#define LH_HEAPLOG_PID "pid="
#define LH_HEAPLOG_HEAP "heap="
#define LH_HEAPLOG_FROM "from="
#define LH_HEAPLOG_TCMALLOC "tcmalloc"
#define LH_HEAPLOG_SANITIZER "sanitizer"

/* How often the shim writes its line and looks for a request. */
#define LH_HEAPLOG_PERIOD_MS 100

/* A request older than this is passed over (its dump would be charged
 * the work done when it was made, long before). */
#define LH_HEAPLOG_FRESH_MS 300

#endif

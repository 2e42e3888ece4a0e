/*
 * clock.h - time in microseconds.
 */
#ifndef LH_CLOCK_H
#define LH_CLOCK_H

#include <stdint.h>

/* Monotonic clock (CLOCK_MONOTONIC), for timers and durations. */
int64_t lh_now_us(void);

/* Wall clock (CLOCK_REALTIME), for event times that cross processes. */
int64_t lh_wall_us(void);

/* Sleeps for `us` microseconds, resuming after signals. */
void lh_sleep_us(int64_t us);

#endif

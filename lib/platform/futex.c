/* Sleeping and waking on a 32-bit word (Linux futex), the clock, and the
 * process-wide barrier (Linux membarrier). */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "platform/platform.h"

int64_t casty__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void casty__futex_wait(_Atomic uint32_t *word, uint32_t expected, casty_duration_t timeout)
{
    struct timespec ts;
    struct timespec *tsp = NULL;
    if (timeout >= 0) {
        ts.tv_sec = (time_t)(timeout / 1000000000);
        ts.tv_nsec = (long)(timeout % 1000000000);
        tsp = &ts;
    }
    /* Returns at once if *word != expected: a wake between the caller's
     * check and this call is never lost. EINTR and spurious wake-ups are the
     * caller's loop to handle. */
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, tsp, NULL, 0);
}

void casty__futex_wake(_Atomic uint32_t *word, int count)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}

static bool membarrier_ready;
static pthread_once_t membarrier_once = PTHREAD_ONCE_INIT;

static void membarrier_register(void)
{
    membarrier_ready =
        syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0 &&
        syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0;
}

bool casty__membarrier_init(void)
{
    pthread_once(&membarrier_once, membarrier_register);
    return membarrier_ready;
}

void casty__membarrier(void)
{
    syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}

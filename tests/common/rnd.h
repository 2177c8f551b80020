/* rnd.h: the unit tests' pseudo-random numbers, xorshift64* from a fixed
 * seed, so a failure reproduces. */
#ifndef TS_TEST_RND_H
#define TS_TEST_RND_H

#include <stdint.h>

static inline uint64_t rnd(void)
{
    static uint64_t x = 0x9e3779b97f4a7c15u;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    return x * 0x2545f4914f6cdd1du;
}

#endif

/* RNG: determinism per key, independence of streams, distribution sanity. */
#include <criterion/criterion.h>
#include <math.h>

#include "core/core.h"

Test(rng, same_key_same_stream) {
    core_rng a = core_rng_stream(42, CORE_RNG_SAMPLE, 3, 7);
    core_rng b = core_rng_stream(42, CORE_RNG_SAMPLE, 3, 7);
    for (int i = 0; i < 1000; i++) cr_assert_eq(core_rng_next(&a), core_rng_next(&b));
}

Test(rng, nearby_keys_give_unrelated_streams) {
    /* Streams differing in one key component must not share values at the
     * same positions (a shared seed offset would show up as equal words). */
    core_rng base = core_rng_stream(42, CORE_RNG_SAMPLE, 3, 7);
    core_rng keys[4] = {core_rng_stream(43, CORE_RNG_SAMPLE, 3, 7),
                        core_rng_stream(42, CORE_RNG_TASKS, 3, 7),
                        core_rng_stream(42, CORE_RNG_SAMPLE, 4, 7),
                        core_rng_stream(42, CORE_RNG_SAMPLE, 3, 8)};
    for (int k = 0; k < 4; k++) {
        core_rng b = base;
        int equal = 0, bits = 0;
        for (int i = 0; i < 256; i++) {
            uint64_t x = core_rng_next(&b), y = core_rng_next(&keys[k]);
            equal += x == y;
            bits += __builtin_popcountll(x ^ y);
        }
        cr_assert_eq(equal, 0);
        /* independent words differ in ~32 of 64 bits */
        cr_assert(fabs(bits / 256.0 - 32) < 2, "stream %d: mean differing bits %f", k, bits / 256.0);
    }
}

Test(rng, uniform_and_normal_moments) {
    core_rng r = core_rng_stream(1, CORE_RNG_TEST, 0, 0);
    double sum = 0, sq = 0, nsum = 0, nsq = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double u = core_rng_uniform(&r);
        cr_assert(u >= 0 && u < 1);
        sum += u;
        sq += u * u;
        double z = core_rng_normal(&r);
        nsum += z;
        nsq += z * z;
    }
    cr_assert(fabs(sum / n - 0.5) < 0.005);
    cr_assert(fabs(sq / n - 1.0 / 3) < 0.005);
    cr_assert(fabs(nsum / n) < 0.01);
    cr_assert(fabs(nsq / n - 1) < 0.02);
}

Test(rng, below_is_in_range_and_covers_it) {
    core_rng r = core_rng_stream(9, CORE_RNG_TEST, 1, 0);
    int counts[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint64_t x = core_rng_below(&r, 7);
        cr_assert(x < 7);
        counts[x]++;
    }
    for (int i = 0; i < 7; i++) cr_assert(counts[i] > 9500 && counts[i] < 10500, "%d: %d", i, counts[i]);
}

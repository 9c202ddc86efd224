/* The exact gradient sum of the data-parallel learner (learner/parallel.c):
 * the same bits for any grouping and order of the partial sums, which plain
 * float addition does not give; values it cannot hold are reported. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "learner/internal.h"

enum { N = 4096, PARTS = 12 };

/* PARTS vectors of N gradients over many magnitudes (1e-9 .. 1e3), signed. */
static float *make_parts(void) {
    float *g = malloc(sizeof(float) * N * PARTS);
    core_rng rng = core_rng_stream(7, CORE_RNG_TEST, 1, 0);
    for (int i = 0; i < N * PARTS; i++) {
        double mag = pow(10.0, -9.0 + 12.0 * core_rng_uniform(&rng));
        g[i] = (float)((core_rng_uniform(&rng) < 0.5 ? -1 : 1) * mag);
    }
    return g;
}

/* The sum as `learners` learners would form it: learner r adds parts r,
 * r + learners, ... in the given order, then the partial sums are added
 * (as MPI_Allreduce's op does) starting from learner `first`. */
static void exact_sum(const float *g, int learners, int reverse, int first, float *out) {
    core_error e;
    grad_sum total, part;
    cr_assert_eq(grad_sum_init(&total, N, 1, &e), 0);
    cr_assert_eq(grad_sum_init(&part, N, 1, &e), 0);
    for (int k = 0; k < learners; k++) {
        int r = (first + k) % learners;
        grad_sum_zero(&part);
        for (int j = reverse ? PARTS - 1 : 0; reverse ? j >= 0 : j < PARTS; j += reverse ? -1 : 1)
            if (j % learners == r) grad_sum_add(&part, g + (size_t)j * N);
        for (int i = 0; i <= N; i++) total.acc[i] += part.acc[i];
    }
    cr_assert_eq(grad_sum_finish(&total, NULL, out), 0);
    grad_sum_free(&total);
    grad_sum_free(&part);
}

static void float_sum(const float *g, int learners, float *out) {
    float *part = calloc(N, sizeof(float));
    memset(out, 0, sizeof(float) * N);
    for (int r = 0; r < learners; r++) {
        memset(part, 0, sizeof(float) * N);
        for (int j = r; j < PARTS; j += learners)
            for (int i = 0; i < N; i++) part[i] += g[(size_t)j * N + i];
        for (int i = 0; i < N; i++) out[i] += part[i];
    }
    free(part);
}

Test(gradsum, same_bits_for_any_grouping_and_order) {
    float *g = make_parts(), ref[N], got[N], naive1[N], naive3[N];
    exact_sum(g, 1, 0, 0, ref);
    int configs[][3] = {{2, 0, 0}, {3, 1, 2}, {5, 0, 4}, {12, 1, 7}, {1, 1, 0}};
    for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++) {
        exact_sum(g, configs[c][0], configs[c][1], configs[c][2], got);
        cr_assert_eq(memcmp(ref, got, sizeof ref), 0, "learners=%d reverse=%d first=%d differ",
                     configs[c][0], configs[c][1], configs[c][2]);
    }
    /* what the exact sum is for: plain float sums do depend on the grouping */
    float_sum(g, 1, naive1);
    float_sum(g, 3, naive3);
    cr_assert_neq(memcmp(naive1, naive3, sizeof naive1), 0, "float sums happened to agree");
    /* and it is the true sum to float precision (checked in double) */
    for (int i = 0; i < N; i++) {
        double exact = 0, mag = 0;
        for (int j = 0; j < PARTS; j++) {
            exact += g[(size_t)j * N + i];
            mag += fabs(g[(size_t)j * N + i]);
        }
        cr_assert(fabs(ref[i] - exact) <= 1e-6 * mag + 1e-18, "element %d: %g vs %g", i, ref[i], exact);
    }
    free(g);
}

Test(gradsum, out_of_range_values_are_reported) {
    float g[N] = {0}, out[N];
    core_error e;
    grad_sum s;
    cr_assert_eq(grad_sum_init(&s, N, 1, &e), 0);
    g[3] = 1.5f;
    grad_sum_add(&s, g);
    cr_assert_eq(grad_sum_finish(&s, NULL, out), 0);
    cr_assert_eq(out[3], 1.5f);
    float bad[] = {1e13f, NAN, INFINITY};
    for (int k = 0; k < 3; k++) {
        grad_sum_zero(&s);
        g[5] = bad[k];
        grad_sum_add(&s, g);
        cr_assert_eq(grad_sum_finish(&s, NULL, out), 1, "value %g not reported", bad[k]);
    }
    grad_sum_free(&s);
}

/* learner.grad_sum = float: no accumulator (no 16 bytes per parameter);
 * the caller's gradient buffer is the sum, and finishing leaves it as is. */
Test(gradsum, float_mode_keeps_the_buffer_and_allocates_nothing) {
    float out[N];
    core_error e;
    grad_sum s;
    cr_assert_eq(grad_sum_init(&s, N, 0, &e), 0);
    cr_assert(!grad_sum_exact(&s) && s.acc == NULL);
    for (int i = 0; i < N; i++) out[i] = 0.1f * (float)i;
    grad_sum_zero(&s);
    grad_sum_add(&s, out);
    cr_assert_eq(grad_sum_finish(&s, NULL, out), 0);
    for (int i = 0; i < N; i++) cr_assert_eq(out[i], 0.1f * (float)i);
    grad_sum_free(&s);
}

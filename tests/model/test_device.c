/*
 * The device door (model_set_device, model.h) on a build without a GPU: a
 * CUDA request fails naming model.device and leaves the model working on
 * the CPU; a matmul mode the CPU lacks fails naming model.matmul; the host
 * staging calls are the buffers themselves on the CPU.  (The CUDA backend
 * itself is tested on the CPU stand-in: tests/cuda/check_emulated_*.sh.)
 */
#include <string.h>

#include "tests/model/helpers.h"

static model *make(void) {
    model_config mc = tiny_config();
    model *m;
    core_error err = {0};
    cr_assert_eq(model_create(&m, &mc, 2, &err), 0, "%s", err.msg);
    model_init(m, 5, 0.1f);
    return m;
}

Test(device, cuda_without_a_gpu_is_refused_and_the_model_stays_usable) {
    model *m = make();
    core_error err = {0};
    int tokens[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    float before[8], after[8];
    cr_assert_eq(model_forward(m, tokens, 1, 8, before, NULL, &err), 0);
    int rc = model_set_device(m, "cuda", NULL, &err);
    cr_expect_eq(rc, CORE_EINPUT);
    cr_expect(strstr(err.msg, "model.device = cuda") != NULL, "message: %s", err.msg);
    cr_expect_str_eq(model_device(m), "cpu");
    cr_assert_eq(model_forward(m, tokens, 1, 8, after, NULL, &err), 0);
    cr_expect(!memcmp(before, after, sizeof before), "the model changed");
    cr_expect_eq(model_device_check("cuda", NULL, &err), CORE_EINPUT);
    cr_expect_eq(model_set_device(m, "tpu", NULL, &err), CORE_EINPUT);
    cr_expect(strstr(err.msg, "unknown device") != NULL, "message: %s", err.msg);
    model_free(m);
}

Test(device, the_cpu_multiplies_in_fp32_only) {
    model *m = make();
    core_error err = {0};
    cr_expect_eq(model_set_device(m, "cpu", "fp32", &err), 0, "%s", err.msg);
    cr_expect_eq(model_set_device(m, "cpu", "bf16", &err), CORE_EINPUT);
    cr_expect(strstr(err.msg, "model.matmul = bf16") != NULL, "message: %s", err.msg);
    cr_expect_eq(model_device_check("cpu", "tf32", &err), CORE_EINPUT);
    model_free(m);
}

Test(device, host_staging_on_the_cpu_is_the_buffer_itself) {
    model *m = make(), *n = make();
    core_error err = {0};
    float *p = model_params(m);
    p[3] += 1.0f; /* a write through the host copy ... */
    model_params_commit(m);
    cr_expect_eq(model_params(m)[3], p[3]); /* ... is the model's */
    cr_expect_eq(model_copy_params(n, m), 0);
    cr_expect(!memcmp(model_params(n), model_params(m), model_n_params(m) * sizeof(float)));
    float *g = model_grads(m);
    g[0] = 2.0f;
    model_grads_commit(m);
    cr_expect_float_eq(model_grad_norm(m), 2.0f, 1e-6f);
    cr_expect_eq(model_check_device(m, &err), 0);
    model_free(m);
    model_free(n);
}

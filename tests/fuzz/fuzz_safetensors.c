/*
 * tests/fuzz/fuzz_safetensors.c — libFuzzer target for the safetensors
 * reader (model/safetensors.c): arbitrary bytes as a model file, the input
 * every Hugging Face directory hands us.
 *
 * fuzz-sources: model/safetensors.c model/sha256.c core/core.c
 *
 * Beyond "no crash, no UB, no leak": st_open either fails with a message or
 * gives tensors whose byte ranges lie inside the file; every F32/BF16/F16
 * tensor of rank 1 or 2 then converts with its own shape and is refused
 * with any other.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model/hf_internal.h"

static const char *input_path(const uint8_t *data, size_t size) {
    static char path[64];
    static int fd = -1;
    if (fd < 0) {
        fd = memfd_create("safetensors", 0);
        if (fd < 0) abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) abort();
    return path;
}

static void check_tensor(const st_file *f, const st_tensor *t) {
    if (t->begin > t->end || f->data_start + t->end > f->size) abort();
    if ((t->dtype != ST_F32 && t->dtype != ST_BF16 && t->dtype != ST_F16) || t->rank < 1 || t->rank > 2) return;
    int64_t rows = t->shape[0], cols = t->rank == 2 ? t->shape[1] : 0;
    if (rows > (1 << 16) || cols > (1 << 8) || (t->rank == 2 && cols == 0)) return;
    float *dst = malloc(sizeof(float) * (size_t)(rows * (cols ? cols : 1) + 1));
    core_error err = {0};
    if (st_read_f32(f, t, rows, (int)cols, "the fuzzer", dst, &err) != 0) abort();
    if (st_read_f32(f, t, rows + 1, (int)cols, "the fuzzer", dst, &err) != CORE_EINPUT) abort();
    free(dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    st_file f;
    core_error err = {0};
    if (st_open(&f, input_path(data, size), &err) != 0) {
        if (!err.msg[0]) abort();
        return 0;
    }
    for (int i = 0; i < f.n; i++) check_tensor(&f, &f.t[i]);
    st_verify_sha256(&f, &err);
    st_metadata(&f, "format");
    st_close(&f);
    return 0;
}

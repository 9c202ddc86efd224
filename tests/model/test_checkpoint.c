/*
 * tests/model/test_checkpoint.c — SHA-256 against FIPS 180-4 vectors;
 * safetensors save/load is bit-exact (weights, AdamW state, step); training
 * resumed from a checkpoint equals uninterrupted training bit for bit;
 * corrupted, truncated and mismatched files are refused with a clear error.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "model/sha256.h"

Test(checkpoint, sha256_fips_vectors) {
    char hex[65];
    sha256_hex("abc", 3, hex);
    cr_expect_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(two, strlen(two), hex);
    cr_expect_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    sha256_hex("", 0, hex);
    cr_expect_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* streaming in odd pieces equals one shot */
    static char a[1000];
    memset(a, 'a', sizeof a);
    sha256_ctx c;
    unsigned char d[32];
    char hex2[65];
    sha256_init(&c);
    for (int i = 0; i < 1000; i += 7) sha256_update(&c, a + i, i + 7 <= 1000 ? 7 : 1000 - i);
    sha256_final(&c, d);
    sha256_digest_to_hex(d, hex2);
    sha256_hex(a, 1000, hex);
    cr_expect_str_eq(hex, hex2);
}

static char dir[64];
static void make_dir(void) { make_temp_dir(dir, sizeof dir); }
static void remove_dir(void) { remove_temp_dir(dir); }

Test(checkpoint, round_trip_is_bit_exact_and_resume_is_exact, .init = make_dir, .fini = remove_dir) {
    model *a = tiny_model(tiny_config(), 2, 3, 0.1f), *b = tiny_model(tiny_config(), 2, 3, 0.1f);
    train_steps(a, 1, 3, 77);
    train_steps(b, 1, 2, 77);
    char path[128];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    core_error err = {0};
    cr_assert_eq(model_save(b, path, 1, &err), 0, "%s", err.msg);
    model *c;
    cr_assert_eq(model_load(&c, path, 2, &err), 0, "%s", err.msg);
    cr_expect_eq(model_n_params(c), model_n_params(b));
    cr_expect(!memcmp(model_params(c), model_params(b), sizeof(float) * model_n_params(b)), "weights differ");
    cr_expect_eq(model_adamw_t(c), 2);
    const model_config *mc = model_get_config(c);
    cr_expect_eq(mc->n_kv_heads, 2);
    cr_expect_eq(mc->tie_embeddings, 0);
    cr_expect_float_eq(mc->norm_eps, 1e-5f, 1e-12);
    train_steps(c, 3, 3, 77);
    cr_expect(!memcmp(model_params(c), model_params(a), sizeof(float) * model_n_params(a)),
              "resumed training differs from uninterrupted training");
    char hex[65];
    cr_expect_eq(model_file_sha256(path, hex, &err), 0);
    cr_expect_eq(strlen(hex), 64u);
    model_free(a), model_free(b), model_free(c);
}

static long file_size(const char *path) {
    FILE *f = fopen(path, "rb");
    cr_assert(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

Test(checkpoint, corrupted_truncated_mismatched_are_refused, .init = make_dir, .fini = remove_dir) {
    model *a = tiny_model(tiny_config(), 1, 4, 0.1f);
    char path[128];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    core_error err = {0};
    cr_assert_eq(model_save(a, path, 0, &err), 0, "%s", err.msg);
    long n = file_size(path);
    /* flip one byte of tensor data */
    FILE *f = fopen(path, "r+b");
    fseek(f, n - 100, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, n - 100, SEEK_SET);
    fputc(ch ^ 0x40, f);
    fclose(f);
    model *b = NULL;
    cr_expect_eq(model_load(&b, path, 1, &err), CORE_EINPUT);
    cr_expect(strstr(err.msg, "sha256") && strstr(err.msg, path), "%s", err.msg);
    cr_expect_null(b);
    /* truncate */
    cr_assert_eq(model_save(a, path, 0, &err), 0);
    cr_assert_eq(truncate(path, n - 4), 0);
    cr_expect_eq(model_load(&b, path, 1, &err), CORE_EINPUT);
    cr_expect(strstr(err.msg, path), "%s", err.msg);
    cr_assert_eq(truncate(path, 5), 0);
    cr_expect_eq(model_load(&b, path, 1, &err), CORE_EINPUT);
    cr_expect(strstr(err.msg, "truncated"), "%s", err.msg);
    /* a model of another shape refuses the file */
    cr_assert_eq(model_save(a, path, 0, &err), 0);
    model_config other = tiny_config();
    other.ffn_dim = 32;
    model *o = tiny_model(other, 1, 1, 0.1f);
    cr_expect_eq(model_load_into(o, path, &err), CORE_EINPUT);
    cr_expect(strstr(err.msg, "shape") && strstr(err.msg, "mlp"), "%s", err.msg);
    /* missing file and a broken config.json */
    char cfg[160];
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    f = fopen(cfg, "w");
    fputs("{\"hidden_size\": 16.5}", f);
    fclose(f);
    cr_expect_eq(model_load(&b, path, 1, &err), CORE_EINPUT);
    cr_expect(strstr(err.msg, "config.json") && strstr(err.msg, "hidden_size"), "%s", err.msg);
    snprintf(cfg, sizeof cfg, "%s/none.safetensors", dir);
    cr_expect_eq(model_load_into(a, cfg, &err), CORE_EINPUT);
    model_free(a), model_free(o);
}

Test(checkpoint, tied_model_round_trip, .init = make_dir, .fini = remove_dir) {
    model_config mc = tiny_config();
    mc.tie_embeddings = 1;
    model *a = tiny_model(mc, 1, 5, 0.1f);
    char path[128];
    snprintf(path, sizeof path, "%s/t.safetensors", dir);
    core_error err = {0};
    cr_assert_eq(model_save(a, path, 0, &err), 0, "%s", err.msg);
    model *b;
    cr_assert_eq(model_load(&b, path, 1, &err), 0, "%s", err.msg);
    cr_expect_eq(model_get_config(b)->tie_embeddings, 1);
    cr_expect_null(model_tensor_find(b, "lm_head.weight"));
    cr_expect(!memcmp(model_params(a), model_params(b), sizeof(float) * model_n_params(a)));
    cr_expect_eq(model_adamw_t(b), 0);
    model_free(a), model_free(b);
}

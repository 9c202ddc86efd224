/*
 * tests/model/test_hf.c — Hugging Face directories from the C side: 16-bit
 * float conversions, config.json parsing (families, defaults, refusals), and
 * our own models exported with model_save_hf: reloaded bit-exact (fp32) or
 * as the bf16 rounding, resumed exactly from the directory's optimizer state,
 * never written over an existing directory nor left half-written.
 * check_hf_dirs.py covers directories that transformers writes and reads.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "model/hf_internal.h"

Test(hf, f16_and_bf16_conversions_are_exact) {
    cr_expect_eq(st_f16_to_f32(0x3c00), 1.0f);
    cr_expect_eq(st_f16_to_f32(0xc000), -2.0f);
    cr_expect_eq(st_f16_to_f32(0x7bff), 65504.0f);
    cr_expect_eq(st_f16_to_f32(0x0001), 0x1p-24f);          /* smallest subnormal */
    cr_expect_eq(st_f16_to_f32(0x03ff), 1023 * 0x1p-24f);   /* largest subnormal */
    cr_expect_eq(st_f16_to_f32(0x0400), 0x1p-14f);          /* smallest normal */
    cr_expect_eq(st_f16_to_f32(0x8000), 0.0f);
    cr_expect(signbit(st_f16_to_f32(0x8000)));
    cr_expect(isinf(st_f16_to_f32(0x7c00)) && st_f16_to_f32(0x7c00) > 0);
    cr_expect(isinf(st_f16_to_f32(0xfc00)) && st_f16_to_f32(0xfc00) < 0);
    cr_expect(isnan(st_f16_to_f32(0x7e00)));
    cr_expect_eq(st_bf16_to_f32(0x3f80), 1.0f);
    cr_expect_eq(st_bf16_to_f32(0xc0a0), -5.0f);
    /* fp32 -> bf16 rounds to nearest, ties to even */
    cr_expect_eq(st_f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);        /* tie, even stays */
    cr_expect_eq(st_f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);    /* tie, odd rounds up */
    cr_expect_eq(st_f32_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81);
    cr_expect(isnan(st_bf16_to_f32(st_f32_to_bf16(NAN))));
    cr_expect(isinf(st_bf16_to_f32(st_f32_to_bf16(INFINITY))));
}

static int parse(const char *json, model_config *mc, core_error *err) {
    cJSON *j = cJSON_Parse(json);
    cr_assert(j, "%s", json);
    int rc = hf_config_parse(j, "x/config.json", mc, err);
    cJSON_Delete(j);
    return rc;
}

#define SIZES "\"hidden_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, " \
              "\"intermediate_size\": 48, \"vocab_size\": 300"

Test(hf, config_families_and_defaults) {
    model_config mc;
    core_error err = {0};
    cr_assert_eq(parse("{\"architectures\": [\"Qwen2ForCausalLM\"], " SIZES ", \"num_key_value_heads\": 2, "
                       "\"use_sliding_window\": false, \"sliding_window\": 4096}", &mc, &err), 0, "%s", err.msg);
    cr_expect_eq(mc.arch, MODEL_ARCH_QWEN2);
    cr_expect(mc.qkv_bias && !mc.qk_norm && !mc.tie_embeddings);
    cr_expect_eq(mc.n_kv_heads, 2);
    cr_expect_eq(mc.max_seq, 32768);
    cr_expect_float_eq(mc.rope_theta, 10000.0f, 0);
    cr_expect_float_eq(mc.norm_eps, 1e-6f, 0);
    cr_assert_eq(parse("{\"architectures\": [\"Qwen3ForCausalLM\"], " SIZES ", \"head_dim\": 16, "
                       "\"tie_word_embeddings\": true, \"max_position_embeddings\": 64}", &mc, &err), 0, "%s", err.msg);
    cr_expect_eq(mc.arch, MODEL_ARCH_QWEN3);
    cr_expect(mc.qk_norm && !mc.qkv_bias && mc.tie_embeddings);
    cr_expect_eq(mc.head_dim, 16);
    cr_expect_eq(mc.n_kv_heads, 4); /* = heads when absent */
    cr_expect_eq(mc.max_seq, 64);
    /* no architectures: model_type; a head_dim equal to hidden/heads is the default (0) */
    cr_assert_eq(parse("{\"model_type\": \"llama\", " SIZES ", \"head_dim\": 8, \"rope_scaling\": "
                       "{\"type\": \"llama3\", \"factor\": 32.0, \"low_freq_factor\": 1, "
                       "\"high_freq_factor\": 4, \"original_max_position_embeddings\": 8192}}", &mc, &err), 0, "%s", err.msg);
    cr_expect_eq(mc.arch, MODEL_ARCH_LLAMA);
    cr_expect_eq(mc.head_dim, 0);
    cr_expect_eq(mc.max_seq, 2048);
    cr_expect_eq(mc.rope_scaling.type, MODEL_ROPE_LLAMA3);
    cr_expect_float_eq(mc.rope_scaling.factor, 32.0f, 0);
    cr_expect_eq(mc.rope_scaling.original_max_position, 8192);
    cr_assert_eq(parse("{\"model_type\": \"llama\", " SIZES ", \"rope_scaling\": {\"rope_type\": \"default\"}}",
                       &mc, &err), 0, "%s", err.msg);
    cr_expect_eq(mc.rope_scaling.type, MODEL_ROPE_DEFAULT);
}

Test(hf, config_refusals_name_file_field_and_value) {
    static const struct { const char *json, *needle1, *needle2; } bad[] = {
        {"{\"architectures\": [\"Qwen2MoeForCausalLM\"], " SIZES "}", "architectures", "Qwen2MoeForCausalLM"},
        {"{\"architectures\": [\"MistralForCausalLM\"], " SIZES "}", "architectures", "MistralForCausalLM"},
        {"{\"hidden_size\": 32}", "architectures", "missing"},
        {"{\"model_type\": \"qwen2\", " SIZES ", \"use_sliding_window\": true}", "use_sliding_window", "true"},
        {"{\"model_type\": \"qwen3\", " SIZES ", \"use_sliding_window\": true}", "use_sliding_window", "true"},
        {"{\"model_type\": \"llama\", " SIZES ", \"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": 2}}",
         "rope_scaling", "linear"},
        {"{\"model_type\": \"llama\", " SIZES ", \"rope_scaling\": {\"type\": \"dynamic\", \"factor\": 2}}",
         "rope_scaling", "dynamic"},
        {"{\"model_type\": \"llama\", " SIZES ", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8}}",
         "rope_scaling", "low_freq_factor"},
        {"{\"model_type\": \"llama\", " SIZES ", \"hidden_act\": \"gelu\"}", "hidden_act", "gelu"},
        {"{\"model_type\": \"llama\", " SIZES ", \"attention_bias\": true}", "attention_bias", "true"},
        {"{\"model_type\": \"llama\", " SIZES ", \"mlp_bias\": true}", "mlp_bias", "true"},
        {"{\"model_type\": \"llama\", \"hidden_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, "
         "\"vocab_size\": 300}", "intermediate_size", "missing"},
        {"{\"model_type\": \"llama\", " SIZES ", \"num_key_value_heads\": 2.5}", "num_key_value_heads", "integer"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        model_config mc;
        core_error err = {0};
        cr_expect_eq(parse(bad[i].json, &mc, &err), CORE_EINPUT, "accepted: %s", bad[i].json);
        cr_expect(strstr(err.msg, "x/config.json") && strstr(err.msg, bad[i].needle1) &&
                      strstr(err.msg, bad[i].needle2),
                  "%s -> %s", bad[i].json, err.msg);
    }
}

Test(hf, json_set_top_string_keeps_every_other_byte) {
    static const struct { const char *in, *out; } cases[] = {
        {"{\"a\": 8.0, \"torch_dtype\": \"float32\", \"b\": 1}", "{\"a\": 8.0, \"torch_dtype\": \"bfloat16\", \"b\": 1}"},
        {"{\"torch_dtype\":null}", "{\"torch_dtype\":\"bfloat16\"}"},
        {"{\"x\": {\"torch_dtype\": \"float16\"}, \"s\": \"torch_dtype\"}",
         "{\n  \"torch_dtype\": \"bfloat16\",\"x\": {\"torch_dtype\": \"float16\"}, \"s\": \"torch_dtype\"}"},
        {"{\"k\\\"\": [1, {\"a\": 2}], \"torch_dtype\" : \"float32\" }",
         "{\"k\\\"\": [1, {\"a\": 2}], \"torch_dtype\" : \"bfloat16\" }"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = hf_json_set_top_string(cases[i].in, strlen(cases[i].in), "torch_dtype", "bfloat16");
        cr_assert(out);
        cr_expect_str_eq(out, cases[i].out);
        cJSON *j = cJSON_Parse(out);
        cr_expect(cJSON_IsObject(j), "%s", out);
        cJSON_Delete(j);
        free(out);
    }
}

static char dir[64];
static void make_dir(void) { make_temp_dir(dir, sizeof dir); }
static void remove_dir(void) { remove_temp_dir(dir); }

Test(hf, own_model_directory_round_trip_and_exact_resume, .init = make_dir, .fini = remove_dir) {
    model *a = tiny_model(tiny_config(), 2, 3, 0.1f), *b = tiny_model(tiny_config(), 2, 3, 0.1f);
    train_steps(a, 1, 3, 78);
    train_steps(b, 1, 2, 78);
    char out[128];
    snprintf(out, sizeof out, "%s/step-2", dir);
    core_error err = {0};
    cr_assert_eq(model_save_hf(b, out, NULL, MODEL_DTYPE_F32, 1, &err), 0, "%s", err.msg);
    model *c;
    cr_assert_eq(model_load(&c, out, 2, &err), 0, "%s", err.msg); /* a directory, byte-level tokenizer */
    cr_expect_eq(model_tokenizer(c), tokenizer_bytes());
    cr_expect(!memcmp(model_params(c), model_params(b), sizeof(float) * model_n_params(b)), "weights differ");
    cr_expect_eq(model_get_config(c)->max_seq, tiny_config().max_seq);
    model_free(c);
    /* --resume: load_into restores weights, moments and step */
    model *r = tiny_model(tiny_config(), 2, 99, 0.1f);
    cr_assert_eq(model_load_into(r, out, &err), 0, "%s", err.msg);
    cr_expect_eq(model_adamw_t(r), 2);
    train_steps(r, 3, 3, 78);
    cr_expect(!memcmp(model_params(r), model_params(a), sizeof(float) * model_n_params(a)),
              "training resumed from the directory differs from uninterrupted training");
    /* a model of another shape refuses it */
    model_config other = tiny_config();
    other.ffn_dim = 32;
    model *o = tiny_model(other, 1, 1, 0.1f);
    cr_expect_eq(model_load_into(o, out, &err), CORE_EINPUT);
    cr_expect(strstr(err.msg, "config.json") && strstr(err.msg, "shape"), "%s", err.msg);
    /* never over an existing directory */
    cr_expect_eq(model_save_hf(a, out, NULL, MODEL_DTYPE_F32, 0, &err), CORE_EINPUT);
    cr_expect(strstr(err.msg, "exists"), "%s", err.msg);
    model_free(a), model_free(b), model_free(r), model_free(o);
}

Test(hf, bf16_export_is_the_rounding_and_a_tied_head_is_stored_once, .init = make_dir, .fini = remove_dir) {
    model_config mc = tiny_config();
    mc.tie_embeddings = 1;
    model *a = tiny_model(mc, 1, 5, 0.1f);
    char out[128], file[160];
    snprintf(out, sizeof out, "%s/bf16", dir);
    core_error err = {0};
    cr_assert_eq(model_save_hf(a, out, NULL, MODEL_DTYPE_BF16, 0, &err), 0, "%s", err.msg);
    snprintf(file, sizeof file, "%s/model.safetensors", out);
    st_file f;
    cr_assert_eq(st_open(&f, file, &err), 0, "%s", err.msg);
    cr_expect_eq(f.n, model_n_tensors(a));
    cr_expect_null(st_find(&f, "lm_head.weight"));
    for (int i = 0; i < f.n; i++) cr_expect_eq(f.t[i].dtype, ST_BF16, "%s", f.t[i].name);
    st_close(&f);
    model *b;
    cr_assert_eq(model_load(&b, out, 1, &err), 0, "%s", err.msg);
    const float *pa = model_params(a), *pb = model_params(b);
    size_t wrong = 0;
    for (size_t i = 0; i < model_n_params(a); i++) wrong += pb[i] != st_bf16_to_f32(st_f32_to_bf16(pa[i]));
    cr_expect_eq(wrong, 0, "%zu weights are not the bf16 rounding", wrong);
    cr_expect_eq(model_adamw_t(b), 0); /* no optimizer file */
    model_free(a), model_free(b);
}

Test(hf, max_seq_from_config_capped_or_chosen, .init = make_dir, .fini = remove_dir) {
    model_config mc = tiny_config();
    mc.max_seq = MODEL_DIR_MAX_SEQ + 4;
    model *a = tiny_model(mc, 1, 5, 0.1f), *b;
    char out[128];
    snprintf(out, sizeof out, "%s/long", dir);
    core_error err = {0};
    cr_assert_eq(model_save_hf(a, out, NULL, MODEL_DTYPE_F32, 0, &err), 0, "%s", err.msg);
    model_free(a);
    cr_assert_eq(model_load(&b, out, 1, &err), 0, "%s", err.msg); /* capped */
    cr_expect_eq(model_get_config(b)->max_seq, MODEL_DIR_MAX_SEQ);
    model_free(b);
    cr_assert_eq(model_load_hf(&b, out, 1, -100, &err), 0, "%s", err.msg);
    cr_expect_eq(model_get_config(b)->max_seq, 100);
    model_free(b);
    cr_assert_eq(model_load_hf(&b, out, 1, 64, &err), 0, "%s", err.msg);
    cr_expect_eq(model_get_config(b)->max_seq, 64);
    model_free(b);
    cr_expect_eq(model_load_hf(&b, out, 1, MODEL_DIR_MAX_SEQ + 5, &err), CORE_EINPUT);
    cr_expect(strstr(err.msg, "max_position_embeddings") && strstr(err.msg, "config.json"), "%s", err.msg);
}

Test(hf, failed_export_leaves_nothing, .init = make_dir, .fini = remove_dir) {
    /* the source's config.json describes another model: refused before rename */
    model_config small = tiny_config(), big = tiny_config();
    big.ffn_dim = 32;
    model *a = tiny_model(small, 1, 5, 0.1f), *b = tiny_model(big, 1, 6, 0.1f);
    char src[128], out[128];
    snprintf(src, sizeof src, "%s/src", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    core_error err = {0};
    cr_assert_eq(model_save_hf(b, src, NULL, MODEL_DTYPE_F32, 0, &err), 0, "%s", err.msg);
    cr_expect_eq(model_save_hf(a, out, src, MODEL_DTYPE_F32, 0, &err), CORE_EINPUT);
    cr_expect(strstr(err.msg, "src/config.json"), "%s", err.msg);
    DIR *d = opendir(dir);
    struct dirent *e;
    int entries = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            entries++;
            cr_expect_str_eq(e->d_name, "src");
        }
    closedir(d);
    cr_expect_eq(entries, 1);
    model_free(a), model_free(b);
}

/*
 * model/hf_config.c — Hugging Face config.json <-> model_config.
 *
 * Three families, picked by architectures[0] (or model_type when the list is
 * absent), with the defaults transformers 4.47 gives a missing field:
 *
 *   LlamaForCausalLM  (llama)  untied by default; optional head_dim;
 *                              rope_scaling none or "llama3"
 *   Qwen2ForCausalLM  (qwen2)  q/k/v projections with biases; untied by default
 *   Qwen3ForCausalLM  (qwen3)  RMSNorm per head on q and k; head_dim (default 128)
 *
 * The structural sizes (hidden_size, num_hidden_layers, num_attention_heads,
 * intermediate_size, vocab_size) are required: a default there would build a
 * model of the wrong shape.  Whatever the model would compute differently
 * from what the file asks for is refused, naming the file, field and value.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/hf_internal.h"

int hf_read_text(const char *file, char **out, size_t *len, core_error *err) {
    *out = NULL;
    FILE *f = fopen(file, "rb");
    if (!f) return core_fail(err, CORE_EINPUT, "%s: cannot open: %s", file, strerror(errno));
    char *text = NULL;
    size_t n = 0, cap = 0, got;
    do {
        if (n + 65536 > cap) {
            char *t = realloc(text, cap = 2 * cap + 65536);
            if (!t) {
                free(text), fclose(f);
                return core_fail(err, CORE_ERUNTIME, "%s: out of memory", file);
            }
            text = t;
        }
        n += got = fread(text + n, 1, cap - n - 1, f);
    } while (got > 0);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(text);
        return core_fail(err, CORE_EINPUT, "%s: read error", file);
    }
    text[n] = 0;
    *out = text, *len = n;
    return 0;
}

int hf_read_json(const char *file, cJSON **out, core_error *err) {
    char *text;
    size_t n;
    *out = NULL;
    if (hf_read_text(file, &text, &n, err)) return CORE_EINPUT;
    *out = cJSON_ParseWithLength(text, n);
    free(text);
    if (!cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        return core_fail(err, CORE_EINPUT, "%s: not a JSON object", file);
    }
    return 0;
}

/* End of the JSON string starting at s[i] == '"' (index past its closing quote). */
static size_t skip_string(const char *s, size_t i, size_t n) {
    for (i++; i < n && s[i] != '"'; i++)
        if (s[i] == '\\') i++;
    return i + 1;
}

char *hf_json_set_top_string(const char *text, size_t n, const char *key, const char *value) {
    size_t klen = strlen(key), vb = 0, ve = 0;
    int depth = 0, want_value = 0;
    for (size_t i = 0; i < n && !ve; i++) {
        char c = text[i];
        if (c == '"') {
            size_t e = skip_string(text, i, n);
            if (want_value) vb = i, ve = e; /* the old value, a string */
            else if (depth == 1 && e - i - 2 == klen && !memcmp(text + i + 1, key, klen)) {
                size_t j = e;
                while (j < n && strchr(" \t\r\n", text[j])) j++;
                if (j < n && text[j] == ':') want_value = 1, i = j;
                else i = e - 1;
                continue;
            }
            i = e - 1;
        } else if (want_value && !strchr(" \t\r\n", c)) { /* null, a number, ...: up to , or } */
            vb = i;
            for (ve = i; ve < n && text[ve] != ',' && text[ve] != '}' && !strchr(" \t\r\n", text[ve]); ve++) {}
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    size_t vlen = strlen(value), cap = n + klen + vlen + 16;
    char *out = malloc(cap);
    if (!out) return NULL;
    if (ve) { /* replace the value in place */
        snprintf(out, cap, "%.*s\"%s\"%s", (int)vb, text, value, text + ve);
        return out;
    }
    const char *brace = memchr(text, '{', n); /* insert as the first field */
    if (!brace) {
        free(out);
        return NULL;
    }
    size_t at = (size_t)(brace - text) + 1;
    snprintf(out, cap, "%.*s\n  \"%s\": \"%s\",%s", (int)at, text, key, value, text + at);
    return out;
}

/* ---------------------------------------------------------------- fields */

static const struct { const char *architecture, *model_type; int arch; } families[] = {
    {"LlamaForCausalLM", "llama", MODEL_ARCH_LLAMA},
    {"Qwen2ForCausalLM", "qwen2", MODEL_ARCH_QWEN2},
    {"Qwen3ForCausalLM", "qwen3", MODEL_ARCH_QWEN3},
};
enum { N_FAMILIES = sizeof families / sizeof families[0] };

static int parse_arch(const cJSON *j, const char *file, int *arch, core_error *err) {
    const cJSON *list = cJSON_GetObjectItem(j, "architectures");
    const cJSON *first = cJSON_GetArrayItem(list, 0), *type = cJSON_GetObjectItem(j, "model_type");
    const char *field = first ? "architectures" : "model_type";
    const cJSON *v = first ? first : type;
    if (!v) return core_fail(err, CORE_EINPUT, "%s: architectures: missing (and no model_type)", file);
    if (!cJSON_IsString(v)) return core_fail(err, CORE_EINPUT, "%s: %s: not a string", file, field);
    for (int i = 0; i < N_FAMILIES; i++)
        if (!strcmp(v->valuestring, first ? families[i].architecture : families[i].model_type)) {
            *arch = families[i].arch;
            return 0;
        }
    return core_fail(err, CORE_EINPUT,
                     "%s: %s: %s is not supported (LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)",
                     file, field, v->valuestring);
}

/* An integer field; absent (or null) takes def, or is an error when def < 0. */
static int get_int(const cJSON *j, const char *file, const char *key, int def, int *out, core_error *err) {
    const cJSON *v = cJSON_GetObjectItem(j, key);
    if (!v || cJSON_IsNull(v)) {
        if (def < 0) return core_fail(err, CORE_EINPUT, "%s: %s: missing", file, key);
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != (int)v->valuedouble || v->valuedouble < 0)
        return core_fail(err, CORE_EINPUT, "%s: %s: not a non-negative integer", file, key);
    *out = (int)v->valuedouble;
    return 0;
}

static int get_float(const cJSON *j, const char *file, const char *key, float def, float *out,
                     core_error *err) {
    const cJSON *v = cJSON_GetObjectItem(j, key);
    if (!v || cJSON_IsNull(v)) {
        if (def < 0) return core_fail(err, CORE_EINPUT, "%s: %s: missing", file, key);
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v)) return core_fail(err, CORE_EINPUT, "%s: %s: not a number", file, key);
    *out = (float)v->valuedouble;
    return 0;
}

static int get_bool(const cJSON *j, const char *file, const char *key, int def, int *out, core_error *err) {
    const cJSON *v = cJSON_GetObjectItem(j, key);
    if (!v || cJSON_IsNull(v)) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsBool(v)) return core_fail(err, CORE_EINPUT, "%s: %s: not true or false", file, key);
    *out = cJSON_IsTrue(v);
    return 0;
}

/* A boolean the model does not implement when true. */
static int refuse_true(const cJSON *j, const char *file, const char *key, const char *why, core_error *err) {
    int on = 0;
    if (get_bool(j, file, key, 0, &on, err)) return CORE_EINPUT;
    if (on) return core_fail(err, CORE_EINPUT, "%s: %s: true is not supported (%s)", file, key, why);
    return 0;
}

static int parse_rope_scaling(const cJSON *j, const char *file, model_rope_scaling *rs, core_error *err) {
    *rs = (model_rope_scaling){0};
    const cJSON *r = cJSON_GetObjectItem(j, "rope_scaling");
    if (!r || cJSON_IsNull(r)) return 0;
    if (!cJSON_IsObject(r)) return core_fail(err, CORE_EINPUT, "%s: rope_scaling: not an object or null", file);
    const cJSON *type = cJSON_GetObjectItem(r, "rope_type");
    if (!type) type = cJSON_GetObjectItem(r, "type"); /* the older spelling */
    if (!cJSON_IsString(type)) return core_fail(err, CORE_EINPUT, "%s: rope_scaling.rope_type: missing", file);
    if (!strcmp(type->valuestring, "default")) return 0;
    if (strcmp(type->valuestring, "llama3"))
        return core_fail(err, CORE_EINPUT, "%s: rope_scaling.rope_type: %s is not supported (llama3 or none)",
                         file, type->valuestring);
    rs->type = MODEL_ROPE_LLAMA3;
    char where[4300]; /* "FILE: rope_scaling: factor: missing" */
    snprintf(where, sizeof where, "%s: rope_scaling", file);
    if (get_float(r, where, "factor", -1, &rs->factor, err) ||
        get_float(r, where, "low_freq_factor", -1, &rs->low_freq_factor, err) ||
        get_float(r, where, "high_freq_factor", -1, &rs->high_freq_factor, err) ||
        get_int(r, where, "original_max_position_embeddings", -1, &rs->original_max_position, err))
        return CORE_EINPUT;
    if (rs->factor <= 0 || rs->low_freq_factor <= 0 || rs->high_freq_factor <= rs->low_freq_factor ||
        rs->original_max_position <= 0)
        return core_fail(err, CORE_EINPUT,
                         "%s: rope_scaling: factor %g, low_freq_factor %g, high_freq_factor %g, "
                         "original_max_position_embeddings %d: need positive values, high > low",
                         file, rs->factor, rs->low_freq_factor, rs->high_freq_factor, rs->original_max_position);
    return 0;
}

/* hidden_act, mlp_bias, attention_bias, sliding windows: what we do not compute. */
static int refuse_unsupported(const cJSON *j, const char *file, int arch, core_error *err) {
    const cJSON *act = cJSON_GetObjectItem(j, "hidden_act");
    if (act && (!cJSON_IsString(act) || strcmp(act->valuestring, "silu")))
        return core_fail(err, CORE_EINPUT, "%s: hidden_act: %s is not supported (silu)", file,
                         cJSON_IsString(act) ? act->valuestring : "(not a string)");
    if (refuse_true(j, file, "mlp_bias", "the MLP has no biases here", err)) return CORE_EINPUT;
    if (arch != MODEL_ARCH_QWEN2 &&
        refuse_true(j, file, "attention_bias", "attention projections have no biases here", err))
        return CORE_EINPUT;
    if (arch != MODEL_ARCH_LLAMA &&
        refuse_true(j, file, "use_sliding_window", "only full causal attention", err))
        return CORE_EINPUT;
    return 0;
}

int hf_config_parse(const cJSON *j, const char *file, model_config *mc, core_error *err) {
    *mc = (model_config){0};
    int arch = 0, max_pos_default, hd = 0;
    if (parse_arch(j, file, &arch, err)) return CORE_EINPUT;
    max_pos_default = arch == MODEL_ARCH_LLAMA ? 2048 : 32768;
    mc->arch = arch;
    int rc = get_int(j, file, "hidden_size", -1, &mc->dim, err) ||
             get_int(j, file, "num_hidden_layers", -1, &mc->n_layers, err) ||
             get_int(j, file, "num_attention_heads", -1, &mc->n_heads, err) ||
             get_int(j, file, "intermediate_size", -1, &mc->ffn_dim, err) ||
             get_int(j, file, "vocab_size", -1, &mc->vocab, err) ||
             get_int(j, file, "num_key_value_heads", mc->n_heads, &mc->n_kv_heads, err) ||
             get_int(j, file, "max_position_embeddings", max_pos_default, &mc->max_seq, err) ||
             get_int(j, file, "head_dim", arch == MODEL_ARCH_QWEN3 ? 128 : 0, &hd, err) ||
             get_float(j, file, "rope_theta", 10000.0f, &mc->rope_theta, err) ||
             get_float(j, file, "rms_norm_eps", 1e-6f, &mc->norm_eps, err) ||
             get_bool(j, file, "tie_word_embeddings", 0, &mc->tie_embeddings, err) ||
             parse_rope_scaling(j, file, &mc->rope_scaling, err) ||
             refuse_unsupported(j, file, arch, err);
    if (rc) return CORE_EINPUT;
    if (mc->n_heads == 0) return core_fail(err, CORE_EINPUT, "%s: num_attention_heads: 0", file);
    /* 0 means dim / n_heads, so a head_dim that says the same stays 0 */
    mc->head_dim = hd && hd * mc->n_heads != mc->dim ? hd : 0;
    mc->qkv_bias = arch == MODEL_ARCH_QWEN2;
    mc->qk_norm = arch == MODEL_ARCH_QWEN3;
    return model_config_check(mc, file, err);
}

static int head_dim_of(const model_config *c) { return c->head_dim ? c->head_dim : c->dim / c->n_heads; }

int hf_config_same_shape(const model_config *a, const model_config *b) {
    return a->arch == b->arch && a->dim == b->dim && a->n_layers == b->n_layers &&
           a->n_heads == b->n_heads && a->n_kv_heads == b->n_kv_heads && a->ffn_dim == b->ffn_dim &&
           a->vocab == b->vocab && a->tie_embeddings == b->tie_embeddings &&
           head_dim_of(a) == head_dim_of(b) && a->qkv_bias == b->qkv_bias && a->qk_norm == b->qk_norm;
}

/* ----------------------------------------------------------------- build */

/* The shortest decimal that reads back as the same float (1e-05, not
 * 9.99999974737875e-06), as a raw JSON number. */
static void add_float(cJSON *j, const char *key, float x) {
    char s[32];
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(s, sizeof s, "%.*g", digits, (double)x);
        if (strtof(s, NULL) == x) break;
    }
    if (!strpbrk(s, ".eEn")) strcat(s, ".0"); /* a float in Python, like transformers writes */
    cJSON_AddRawToObject(j, key, s);
}

cJSON *hf_config_build(const model_config *c) {
    const char *architecture = families[0].architecture, *type = families[0].model_type;
    for (int i = 0; i < N_FAMILIES; i++)
        if (families[i].arch == c->arch) architecture = families[i].architecture, type = families[i].model_type;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(j, "architectures"), cJSON_CreateString(architecture));
    cJSON_AddStringToObject(j, "model_type", type);
    cJSON_AddNumberToObject(j, "hidden_size", c->dim);
    cJSON_AddNumberToObject(j, "num_hidden_layers", c->n_layers);
    cJSON_AddNumberToObject(j, "num_attention_heads", c->n_heads);
    cJSON_AddNumberToObject(j, "num_key_value_heads", c->n_kv_heads);
    cJSON_AddNumberToObject(j, "head_dim", head_dim_of(c));
    cJSON_AddNumberToObject(j, "intermediate_size", c->ffn_dim);
    cJSON_AddNumberToObject(j, "vocab_size", c->vocab);
    cJSON_AddNumberToObject(j, "max_position_embeddings", c->max_seq);
    add_float(j, "rope_theta", c->rope_theta);
    add_float(j, "rms_norm_eps", c->norm_eps);
    cJSON_AddBoolToObject(j, "tie_word_embeddings", c->tie_embeddings);
    cJSON_AddStringToObject(j, "hidden_act", "silu");
    if (c->arch != MODEL_ARCH_QWEN2) cJSON_AddFalseToObject(j, "attention_bias");
    if (c->arch == MODEL_ARCH_LLAMA) cJSON_AddFalseToObject(j, "mlp_bias");
    if (c->arch != MODEL_ARCH_LLAMA) cJSON_AddFalseToObject(j, "use_sliding_window");
    if (c->rope_scaling.type == MODEL_ROPE_LLAMA3) {
        cJSON *r = cJSON_AddObjectToObject(j, "rope_scaling");
        cJSON_AddStringToObject(r, "rope_type", "llama3");
        add_float(r, "factor", c->rope_scaling.factor);
        add_float(r, "low_freq_factor", c->rope_scaling.low_freq_factor);
        add_float(r, "high_freq_factor", c->rope_scaling.high_freq_factor);
        cJSON_AddNumberToObject(r, "original_max_position_embeddings", c->rope_scaling.original_max_position);
    } else {
        cJSON_AddNullToObject(j, "rope_scaling");
    }
    return j;
}

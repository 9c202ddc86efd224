/*
 * model/safetensors.c — reading and writing safetensors files (the format
 * Hugging Face models ship in and our checkpoints use).
 *
 * Reading maps the file and validates the whole header before any tensor is
 * touched, so a truncated or inconsistent file is refused naming the file
 * (and the tensor) instead of being read past its end.  Tensors convert to
 * fp32 one at a time straight from the mapping; the pages of a converted
 * tensor are dropped again (MADV_DONTNEED), so a large model never sits in
 * memory twice.
 *
 * Assumes a little-endian host (x86-64, aarch64), like safetensors itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/hf_internal.h"
#include "model/sha256.h"

/* ------------------------------------------------------------------ dtypes */

static const struct { const char *name; int size; } dtypes[ST_N_DTYPES] = {
    [ST_F32] = {"F32", 4},     [ST_BF16] = {"BF16", 2},   [ST_F16] = {"F16", 2},
    [ST_F64] = {"F64", 8},     [ST_I64] = {"I64", 8},     [ST_I32] = {"I32", 4},
    [ST_I16] = {"I16", 2},     [ST_I8] = {"I8", 1},       [ST_U8] = {"U8", 1},
    [ST_BOOL] = {"BOOL", 1},   [ST_F8_E4M3] = {"F8_E4M3", 1}, [ST_F8_E5M2] = {"F8_E5M2", 1},
};

const char *st_dtype_name(int dtype) {
    return dtype >= 0 && dtype < ST_N_DTYPES ? dtypes[dtype].name : "?";
}

static int dtype_by_name(const char *name) {
    for (int i = 0; i < ST_N_DTYPES; i++)
        if (!strcmp(dtypes[i].name, name)) return i;
    return -1;
}

float st_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16; /* bf16 is the top half of an fp32 */
    float x;
    memcpy(&x, &bits, 4);
    return x;
}

float st_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) { /* zero or subnormal: man * 2^-24, exact in fp32 */
        float v = (float)man * 0x1p-24f;
        memcpy(&bits, &v, 4);
        bits |= sign;
    } else if (exp == 31) { /* inf, nan (payload kept) */
        bits = sign | 0x7f800000u | (man << 13);
    } else { /* rebias 15 -> 127 */
        bits = sign | ((exp + 112) << 23) | (man << 13);
    }
    float x;
    memcpy(&x, &bits, 4);
    return x;
}

uint16_t st_f32_to_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet nan */
    u += 0x7fffu + ((u >> 16) & 1);                                            /* nearest even */
    return (uint16_t)(u >> 16);
}

/* -------------------------------------------------------------------- read */

void st_close(st_file *f) {
    if (f->map) munmap((void *)f->map, f->size);
    cJSON_Delete(f->head);
    free(f->t);
    f->map = NULL, f->head = NULL, f->t = NULL;
}

static int map_file(st_file *f, core_error *err) {
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return core_fail(err, CORE_EINPUT, "%s: cannot open: %s", f->path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return core_fail(err, CORE_EINPUT, "%s: not a regular file", f->path);
    }
    f->size = (size_t)st.st_size;
    if (f->size < 8) {
        close(fd);
        return core_fail(err, CORE_EINPUT, "%s: truncated: %zu bytes, no safetensors header", f->path, f->size);
    }
    void *p = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return core_fail(err, CORE_ERUNTIME, "%s: cannot map: %s", f->path, strerror(errno));
    f->map = p;
    return 0;
}

/* A JSON number that is a non-negative integer below 2^53. */
static int json_count(const cJSON *v, double *out) {
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740992.0 ||
        v->valuedouble != (double)(int64_t)v->valuedouble)
        return 0;
    *out = v->valuedouble;
    return 1;
}

/* Validate one header entry into t. */
static int parse_entry(st_file *f, const cJSON *e, st_tensor *t, core_error *err) {
    const char *p = f->path;
    t->name = e->string;
    const cJSON *dtype = cJSON_GetObjectItem(e, "dtype"), *shape = cJSON_GetObjectItem(e, "shape");
    const cJSON *offs = cJSON_GetObjectItem(e, "data_offsets");
    if (!cJSON_IsString(dtype) || (t->dtype = dtype_by_name(dtype->valuestring)) < 0)
        return core_fail(err, CORE_EINPUT, "%s: tensor %s: dtype %s is not a safetensors dtype", p,
                         t->name, cJSON_IsString(dtype) ? dtype->valuestring : "(missing)");
    t->rank = cJSON_GetArraySize(shape);
    if (!cJSON_IsArray(shape) || t->rank > ST_MAX_RANK)
        return core_fail(err, CORE_EINPUT, "%s: tensor %s: shape missing or of rank > %d", p, t->name, ST_MAX_RANK);
    double numel = 1, b, e_;
    for (int i = 0; i < t->rank; i++) {
        double d;
        if (!json_count(cJSON_GetArrayItem(shape, i), &d))
            return core_fail(err, CORE_EINPUT, "%s: tensor %s: shape[%d] is not a count", p, t->name, i);
        t->shape[i] = (int64_t)d;
        numel *= d;
    }
    if (cJSON_GetArraySize(offs) != 2 || !json_count(cJSON_GetArrayItem(offs, 0), &b) ||
        !json_count(cJSON_GetArrayItem(offs, 1), &e_) || e_ < b)
        return core_fail(err, CORE_EINPUT, "%s: tensor %s: data_offsets missing or not [begin, end]", p, t->name);
    if (e_ - b != numel * dtypes[t->dtype].size)
        return core_fail(err, CORE_EINPUT,
                         "%s: tensor %s: data_offsets [%.0f, %.0f] hold %.0f bytes, its shape and dtype %s need %.0f",
                         p, t->name, b, e_, e_ - b, dtypes[t->dtype].name, numel * dtypes[t->dtype].size);
    if ((double)f->data_start + e_ > (double)f->size)
        return core_fail(err, CORE_EINPUT,
                         "%s: truncated: tensor %s ends at byte %.0f but the file has %zu bytes", p,
                         t->name, (double)f->data_start + e_, f->size);
    t->begin = (size_t)b, t->end = (size_t)e_;
    return 0;
}

int st_open(st_file *f, const char *path, core_error *err) {
    *f = (st_file){0};
    if (snprintf(f->path, sizeof f->path, "%s", path) >= (int)sizeof f->path)
        return core_fail(err, CORE_EINPUT, "%.200s...: path too long", path);
    int rc = map_file(f, err);
    if (rc) return rc;
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)f->map[i] << (8 * i);
    if (hlen > f->size - 8) {
        core_fail(err, CORE_EINPUT, "%s: truncated or not safetensors: header length %llu but the file has %zu bytes",
                  path, (unsigned long long)hlen, f->size);
        st_close(f);
        return CORE_EINPUT;
    }
    f->data_start = 8 + hlen;
    f->head = cJSON_ParseWithLength((const char *)f->map + 8, hlen);
    int n = 0;
    if (!cJSON_IsObject(f->head)) rc = core_fail(err, CORE_EINPUT, "%s: header is not a JSON object", path);
    for (const cJSON *e = f->head ? f->head->child : NULL; !rc && e; e = e->next) n++;
    f->t = calloc(n ? n : 1, sizeof *f->t);
    if (!rc && !f->t) rc = core_fail(err, CORE_ERUNTIME, "%s: out of memory", path);
    for (const cJSON *e = f->head ? f->head->child : NULL; !rc && e; e = e->next) {
        if (!strcmp(e->string, "__metadata__")) continue;
        if (!cJSON_IsObject(e)) rc = core_fail(err, CORE_EINPUT, "%s: header entry %s is not an object", path, e->string);
        else rc = parse_entry(f, e, &f->t[f->n++], err);
    }
    if (rc) st_close(f);
    return rc;
}

const st_tensor *st_find(const st_file *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->t[i].name, name)) return &f->t[i];
    return NULL;
}

const char *st_metadata(const st_file *f, const char *key) {
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(f->head, "__metadata__"), key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void shape_text(const int64_t *shape, int rank, char *out, size_t cap) {
    size_t k = (size_t)snprintf(out, cap, "[");
    for (int i = 0; i < rank && k < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < cap) snprintf(out + k, cap - k, "]");
}

/* Give the converted tensor's pages back (they are file-backed: rereading
 * them later only costs a page-cache lookup). */
static void drop_pages(const st_file *f, const st_tensor *t) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t b = (f->data_start + t->begin) / page * page, e = f->data_start + t->end;
    if (e > b) madvise((void *)(f->map + b), e - b, MADV_DONTNEED);
}

int st_read_f32(const st_file *f, const st_tensor *t, int64_t rows, int cols, const char *what,
                float *dst, core_error *err) {
    int64_t want[2] = {rows, cols};
    int want_rank = cols ? 2 : 1;
    if (t->rank != want_rank || t->shape[0] != rows || (cols && t->shape[1] != cols)) {
        char have_s[96], want_s[64];
        shape_text(t->shape, t->rank, have_s, sizeof have_s);
        shape_text(want, want_rank, want_s, sizeof want_s);
        return core_fail(err, CORE_EINPUT, "%s: tensor %s has shape %s but %s gives %s", f->path, t->name,
                         have_s, what, want_s);
    }
    size_t n = (size_t)rows * (cols ? cols : 1);
    const unsigned char *src = f->map + f->data_start + t->begin;
    switch (t->dtype) {
    case ST_F32: memcpy(dst, src, n * 4); break;
    case ST_BF16:
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            dst[i] = st_bf16_to_f32(h);
        }
        break;
    case ST_F16:
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            dst[i] = st_f16_to_f32(h);
        }
        break;
    default:
        return core_fail(err, CORE_EINPUT, "%s: tensor %s: dtype %s is not supported (F32, BF16, F16)",
                         f->path, t->name, dtypes[t->dtype].name);
    }
    drop_pages(f, t);
    return 0;
}

int st_verify_sha256(const st_file *f, core_error *err) {
    const char *want = st_metadata(f, "sha256");
    if (!want) return core_fail(err, CORE_EINPUT, "%s: no __metadata__.sha256 (not written by grpo.c?)", f->path);
    char hex[65];
    sha256_hex(f->map + f->data_start, f->size - f->data_start, hex);
    if (strcmp(hex, want))
        return core_fail(err, CORE_EINPUT,
                         "%s: sha256 mismatch: data hashes to %.12s..., header records %.12s... (corrupted or truncated)",
                         f->path, hex, want);
    return 0;
}

/* ------------------------------------------------------------------- write */

enum { CHUNK = 1 << 14 }; /* values converted per write */

/* Feed tensor t as dtype to the hash (when hc is set) and to the file
 * (when f is set). */
static int emit(const st_out *t, int dtype, sha256_ctx *hc, FILE *f) {
    if (dtype == ST_F32) {
        if (hc) sha256_update(hc, t->data, t->numel * 4);
        return !f || fwrite(t->data, 4, t->numel, f) == t->numel;
    }
    static _Thread_local uint16_t buf[CHUNK];
    for (size_t i = 0; i < t->numel; i += CHUNK) {
        size_t k = t->numel - i < CHUNK ? t->numel - i : CHUNK;
        for (size_t j = 0; j < k; j++) buf[j] = st_f32_to_bf16(t->data[i + j]);
        if (hc) sha256_update(hc, buf, k * 2);
        if (f && fwrite(buf, 2, k, f) != k) return 0;
    }
    return 1;
}

static char *build_header(const st_out *t, int n, int dtype, cJSON *meta) {
    cJSON *head = cJSON_CreateObject();
    cJSON_AddItemToObject(head, "__metadata__", meta);
    size_t off = 0, size = dtype == ST_F32 ? 4 : 2;
    for (int i = 0; i < n; i++) {
        cJSON *e = cJSON_AddObjectToObject(head, t[i].name);
        cJSON_AddStringToObject(e, "dtype", dtypes[dtype].name);
        cJSON *shape = cJSON_AddArrayToObject(e, "shape");
        cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t[i].rows));
        if (t[i].cols) cJSON_AddItemToArray(shape, cJSON_CreateNumber(t[i].cols));
        cJSON *offs = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        off += t[i].numel * size;
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
    }
    char *json = cJSON_PrintUnformatted(head);
    cJSON_Delete(head);
    return json;
}

int st_write(const char *path, const st_out *t, int n, int dtype, cJSON *meta, core_error *err) {
    if (dtype != ST_F32 && dtype != ST_BF16) {
        cJSON_Delete(meta);
        return core_fail(err, CORE_EINPUT, "%s: can only write F32 or BF16, not %s", path, st_dtype_name(dtype));
    }
    sha256_ctx hc;
    unsigned char digest[32];
    char hex[65], tmp[4200];
    sha256_init(&hc);
    for (int i = 0; i < n; i++) emit(&t[i], dtype, &hc, NULL);
    sha256_final(&hc, digest);
    sha256_digest_to_hex(digest, hex);
    cJSON_AddStringToObject(meta, "format", "pt");
    cJSON_AddStringToObject(meta, "sha256", hex);
    char *json = build_header(t, n, dtype, meta);
    if (!json) return core_fail(err, CORE_ERUNTIME, "%s: out of memory writing the header", path);
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        free(json);
        return core_fail(err, CORE_EINPUT, "%.200s...: path too long", path);
    }
    size_t hlen = strlen(json), padded = (hlen + 7) / 8 * 8; /* data 8-byte aligned */
    unsigned char len_le[8];
    for (int i = 0; i < 8; i++) len_le[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        free(json);
        return core_fail(err, CORE_ERUNTIME, "%s: cannot create: %s", tmp, strerror(errno));
    }
    int ok = fwrite(len_le, 1, 8, f) == 8 && fwrite(json, 1, hlen, f) == hlen &&
             fwrite("        ", 1, padded - hlen, f) == padded - hlen;
    free(json);
    for (int i = 0; ok && i < n; i++) ok = emit(&t[i], dtype, NULL, f);
    if (fclose(f) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return core_fail(err, CORE_ERUNTIME, "%s: write failed: %s", path, strerror(e));
    }
    return 0;
}

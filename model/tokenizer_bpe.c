/*
 * model/tokenizer_bpe.c — byte-level BPE: the ByteLevel alphabet, the vocab
 * and merge hash tables, and the merge loop of one pre-token.  See
 * tokenizer_bpe.h.
 *
 * The merge loop is the one of the `tokenizers` library (Word::merge_all):
 * a priority queue of adjacent pairs ordered by (merge rank, position);
 * the top pair is merged unless it went stale (one of its symbols was
 * merged away since it was queued), and the pairs the merge creates with
 * its neighbours are queued.  Any other order gives other ids on some
 * words, so it is followed exactly.
 */
#include <stdlib.h>
#include <string.h>

#include "model/tokenizer_bpe.h"

/* ------------------------------------------------------ ByteLevel alphabet
 * GPT-2's bytes_to_unicode: the printable Latin-1 bytes ('!'..'~', '¡'..'¬',
 * '®'..'ÿ') stand for themselves; the other 68 bytes, in increasing order,
 * take the code points 256, 257, ... (so 0x20 is U+0120 "Ġ").  Every code
 * point is below U+0800: one or two bytes of UTF-8. */
enum { ALPHABET_MAX_CP = 256 + 68 };

static char byte_chars[256][2];
static unsigned char byte_char_len[256];
static short cp_byte[ALPHABET_MAX_CP]; /* code point -> byte, -1 if none */

static int byte_is_printable(int b) {
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

__attribute__((constructor)) static void fill_alphabet(void) {
    for (int cp = 0; cp < ALPHABET_MAX_CP; cp++) cp_byte[cp] = -1;
    int extra = 0;
    for (int b = 0; b < 256; b++) {
        int cp = byte_is_printable(b) ? b : 256 + extra++;
        cp_byte[cp] = (short)b;
        if (cp < 0x80) {
            byte_chars[b][0] = (char)cp;
            byte_char_len[b] = 1;
        } else {
            byte_chars[b][0] = (char)(0xC0 | (cp >> 6));
            byte_chars[b][1] = (char)(0x80 | (cp & 0x3F));
            byte_char_len[b] = 2;
        }
    }
}

const char *bpe_byte_char(int b, size_t *len) {
    *len = byte_char_len[b & 0xFF];
    return byte_chars[b & 0xFF];
}

int bpe_char_byte(const char *s, size_t len, size_t *used) {
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] < 0x80) {
        *used = 1;
        return cp_byte[u[0]];
    }
    if ((u[0] & 0xE0) == 0xC0 && len >= 2 && (u[1] & 0xC0) == 0x80) {
        *used = 2;
        int cp = ((u[0] & 0x1F) << 6) | (u[1] & 0x3F);
        return cp < ALPHABET_MAX_CP ? cp_byte[cp] : -1;
    }
    *used = 1;
    return -1;
}

long bpe_unmap(const char *name, size_t len, char *out) {
    long n = 0;
    for (size_t i = 0; i < len;) {
        size_t used;
        int b = bpe_char_byte(name + i, len - i, &used);
        if (b < 0) return -1;
        out[n++] = (char)b;
        i += used;
    }
    return n;
}

/* ------------------------------------------------------------ hash tables */

static uint64_t mix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    return mix64(h ^ w);
}

static int strmap_grow(bpe_strmap *m) {
    size_t cap = m->cap ? m->cap * 2 : 1024;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots) return -1;
    for (size_t e = 0; e < m->n; e++) {
        size_t i = hash_bytes(m->arena + m->entries[e].off, m->entries[e].len) & (cap - 1);
        while (slots[i]) i = (i + 1) & (cap - 1);
        slots[i] = (uint32_t)e + 1;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

/* The slot of s, or the empty slot where it would go. */
static size_t strmap_slot(const bpe_strmap *m, const char *s, size_t len) {
    size_t i = hash_bytes(s, len) & (m->cap - 1);
    for (;; i = (i + 1) & (m->cap - 1)) {
        uint32_t e = m->slots[i];
        if (!e) return i;
        const struct bpe_str *x = &m->entries[e - 1];
        if (x->len == len && !memcmp(m->arena + x->off, s, len)) return i;
    }
}

int bpe_strmap_get(const bpe_strmap *m, const char *s, size_t len) {
    if (!m->cap) return -1;
    uint32_t e = m->slots[strmap_slot(m, s, len)];
    return e ? m->entries[e - 1].id : -1;
}

static int grow_array(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t cap2 = *cap ? *cap : 256;
    while (cap2 < need) cap2 *= 2;
    void *q = realloc(*p, cap2 * elem);
    if (!q) return -1;
    *p = q;
    *cap = cap2;
    return 0;
}

int bpe_strmap_put(bpe_strmap *m, const char *s, size_t len, int id) {
    if ((m->n + 1) * 2 > m->cap && strmap_grow(m)) return -1;
    size_t i = strmap_slot(m, s, len);
    if (m->slots[i]) { /* a repeated name: the last one wins, as in a JSON map */
        m->entries[m->slots[i] - 1].id = id;
        return 0;
    }
    if (grow_array((void **)&m->entries, &m->n_cap, m->n + 1, sizeof *m->entries) ||
        grow_array((void **)&m->arena, &m->arena_cap, m->arena_len + len + 1, 1))
        return -1;
    memcpy(m->arena + m->arena_len, s, len);
    m->entries[m->n] = (struct bpe_str){(uint32_t)m->arena_len, (uint32_t)len, id};
    m->arena_len += len;
    m->slots[i] = (uint32_t)++m->n;
    return 0;
}

void bpe_strmap_free(bpe_strmap *m) {
    free(m->slots);
    free(m->entries);
    free(m->arena);
    memset(m, 0, sizeof *m);
}

static uint64_t pair_key(int left, int right) {
    return ((uint64_t)(uint32_t)left << 32 | (uint32_t)right) + 1; /* 0 marks an empty slot */
}

static const struct bpe_merge *merge_get(const bpe_merges *m, int left, int right) {
    if (!m->cap) return NULL;
    uint64_t key = pair_key(left, right);
    for (size_t i = mix64(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].key == key) return &m->slots[i];
        if (!m->slots[i].key) return NULL;
    }
}

static int merges_grow(bpe_merges *m) {
    size_t cap = m->cap ? m->cap * 2 : 1024;
    struct bpe_merge *slots = calloc(cap, sizeof *slots);
    if (!slots) return -1;
    for (size_t j = 0; j < m->cap; j++) {
        if (!m->slots[j].key) continue;
        size_t i = mix64(m->slots[j].key) & (cap - 1);
        while (slots[i].key) i = (i + 1) & (cap - 1);
        slots[i] = m->slots[j];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

/* ------------------------------------------------------------ vocab, merges */

int bpe_find(const bpe *b, const char *name, size_t len) {
    char stack[256], *raw = len <= sizeof stack ? stack : malloc(len);
    if (!raw) return -1;
    long n = bpe_unmap(name, len, raw);
    int id = n >= 0 ? bpe_strmap_get(&b->vocab, raw, (size_t)n) : bpe_strmap_get(&b->foreign, name, len);
    if (raw != stack) free(raw);
    return id;
}

int bpe_add_token(bpe *b, const char *name, int id, core_error *err) {
    size_t len = strlen(name);
    if (id < 0) return core_fail(err, CORE_EINPUT, "token \"%s\" has a negative id (%d)", name, id);
    char stack[256], *raw = len <= sizeof stack ? stack : malloc(len);
    if (!raw) return core_fail(err, CORE_ERUNTIME, "out of memory");
    long n = bpe_unmap(name, len, raw);
    int rc = n >= 0 ? bpe_strmap_put(&b->vocab, raw, (size_t)n, id) : bpe_strmap_put(&b->foreign, name, len, id);
    if (raw != stack) free(raw);
    if (rc) return core_fail(err, CORE_ERUNTIME, "out of memory");
    if (id > b->max_id) b->max_id = id;
    return 0;
}

/* The id of a name whose raw bytes are raw[0..n) (n < 0: not in the alphabet). */
static int find_raw(const bpe *b, const char *name, const char *raw, long n) {
    return n >= 0 ? bpe_strmap_get(&b->vocab, raw, (size_t)n) : bpe_strmap_get(&b->foreign, name, strlen(name));
}

int bpe_add_merge(bpe *b, const char *left, const char *right, int rank, core_error *err) {
    size_t ll = strlen(left), rl = strlen(right);
    char stack[512], *raw = ll + rl <= sizeof stack ? stack : malloc(ll + rl);
    if (!raw) return core_fail(err, CORE_ERUNTIME, "out of memory");
    /* left's raw bytes, then right's right after them: both together are the merged token's */
    long nl = bpe_unmap(left, ll, raw), nr = bpe_unmap(right, rl, raw + (nl > 0 ? nl : 0));
    int l = find_raw(b, left, raw, nl), r = find_raw(b, right, raw + (nl > 0 ? nl : 0), nr), id = -1;
    if (l >= 0 && r >= 0) {
        if (nl >= 0 && nr >= 0) {
            id = bpe_strmap_get(&b->vocab, raw, (size_t)(nl + nr));
        } else {
            char *both = malloc(ll + rl + 1);
            if (!both) return core_fail(err, CORE_ERUNTIME, "out of memory");
            memcpy(both, left, ll);
            memcpy(both + ll, right, rl + 1);
            id = bpe_find(b, both, ll + rl);
            free(both);
        }
    }
    if (raw != stack) free(raw);
    if (l < 0 || r < 0)
        return core_fail(err, CORE_EINPUT, "merge %d (\"%s\" \"%s\"): \"%s\" is not in the vocab", rank, left,
                         right, l < 0 ? left : right);
    if (id < 0) return core_fail(err, CORE_EINPUT, "merge %d: \"%s%s\" is not in the vocab", rank, left, right);
    if ((b->merges.n + 1) * 2 > b->merges.cap && merges_grow(&b->merges))
        return core_fail(err, CORE_ERUNTIME, "out of memory");
    uint64_t key = pair_key(l, r);
    size_t i = mix64(key) & (b->merges.cap - 1);
    while (b->merges.slots[i].key && b->merges.slots[i].key != key) i = (i + 1) & (b->merges.cap - 1);
    if (!b->merges.slots[i].key) b->merges.n++;
    b->merges.slots[i] = (struct bpe_merge){key, rank, id}; /* a repeated pair: the last rank wins */
    return 0;
}

void bpe_finish_vocab(bpe *b) {
    for (int c = 0; c < 256; c++) {
        char byte = (char)c;
        b->byte_id[c] = bpe_strmap_get(&b->vocab, &byte, 1);
    }
}

void bpe_free(bpe *b) {
    bpe_strmap_free(&b->vocab);
    bpe_strmap_free(&b->foreign);
    free(b->merges.slots);
    memset(b, 0, sizeof *b);
}

/* -------------------------------------------------------------- merge loop */

typedef struct sym {
    int id, prev, next, len; /* len 0: merged into its left neighbour */
} sym;

typedef struct cand {
    int rank, pos, id; /* merge sym[pos] with its next into id */
} cand;

static int cand_before(const cand *a, const cand *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(cand *h, int *n, cand c) {
    int i = (*n)++;
    while (i > 0 && cand_before(&c, &h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = c;
}

static cand heap_pop(cand *h, int *n) {
    cand top = h[0], last = h[--*n];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && cand_before(&h[c + 1], &h[c])) c++;
        if (!cand_before(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n > 0) h[i] = last;
    return top;
}

/* Queue the merge of sym[pos] with its next neighbour, if there is one. */
static void queue_pair(const bpe *b, const sym *w, int pos, cand *h, int *nh) {
    const struct bpe_merge *m = merge_get(&b->merges, w[pos].id, w[w[pos].next].id);
    if (m) heap_push(h, nh, (cand){m->rank, pos, m->id});
}

/* The initial symbols: one per byte, unknown bytes as unk (fused when
 * fuse_unk) or dropped when there is no unk.  Returns their count. */
static int initial_symbols(const bpe *b, const unsigned char *s, size_t n, sym *w) {
    int k = 0, pending_unk = 0;
    for (size_t i = 0; i < n; i++) {
        int id = b->byte_id[s[i]];
        if (id < 0 && b->unk < 0) continue;
        if (id < 0) {
            if (pending_unk && b->fuse_unk) {
                w[k - 1].len++;
                continue;
            }
            id = b->unk;
        }
        pending_unk = id == b->unk && b->byte_id[s[i]] < 0;
        w[k] = (sym){id, k - 1, k + 1, 1};
        k++;
    }
    if (k) w[k - 1].next = -1;
    return k;
}

static void merge_all(const bpe *b, sym *w, int k, cand *h) {
    int nh = 0;
    for (int i = 0; i + 1 < k; i++) queue_pair(b, w, i, h, &nh);
    while (nh > 0) {
        cand top = heap_pop(h, &nh);
        sym *cur = &w[top.pos];
        if (!cur->len || cur->next < 0) continue;
        const struct bpe_merge *m = merge_get(&b->merges, cur->id, w[cur->next].id);
        if (!m || m->id != top.id) continue; /* stale: a neighbour changed since */
        sym *right = &w[cur->next];
        cur->id = top.id;
        cur->len += right->len;
        cur->next = right->next;
        right->len = 0;
        if (cur->next >= 0) w[cur->next].prev = top.pos;
        if (cur->prev >= 0) queue_pair(b, w, cur->prev, h, &nh);
        if (cur->next >= 0) queue_pair(b, w, top.pos, h, &nh);
    }
}

enum { STACK_SYMS = 128 };

void bpe_encode_word(const bpe *b, const unsigned char *s, size_t n, bpe_ids *out) {
    if (!n) return;
    if (n == 1 && b->byte_id[s[0]] >= 0) {
        bpe_emit(out, b->byte_id[s[0]]);
        return;
    }
    if (b->ignore_merges) {
        int id = bpe_strmap_get(&b->vocab, (const char *)s, n);
        if (id >= 0) {
            bpe_emit(out, id);
            return;
        }
    }
    sym stack_w[STACK_SYMS];
    cand stack_h[3 * STACK_SYMS]; /* at most k-1 pairs queued first, then 2 per merge */
    sym *w = n <= STACK_SYMS ? stack_w : malloc(n * sizeof *w);
    cand *h = n <= STACK_SYMS ? stack_h : malloc(3 * n * sizeof *h);
    if (!w || !h) abort(); /* encoding has no error path; out of memory is fatal */
    int k = initial_symbols(b, s, n, w);
    merge_all(b, w, k, h);
    for (int i = 0; k && i >= 0; i = w[i].next) bpe_emit(out, w[i].id);
    if (w != stack_w) free(w);
    if (h != stack_h) free(h);
}

/*
 * model/sha256.h — SHA-256 (FIPS 180-4), for checkpoint integrity.
 * Internal to model/; written from the standard, no crypto library needed.
 */
#ifndef GRPO_MODEL_SHA256_H
#define GRPO_MODEL_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
    uint32_t h[8];
    uint64_t total;      /* bytes hashed so far */
    unsigned char buf[64];
    size_t used;         /* bytes waiting in buf */
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
void sha256_final(sha256_ctx *c, unsigned char digest[32]);
/* Whole buffer to 64 lowercase hex digits + NUL. */
void sha256_hex(const void *data, size_t len, char hex[65]);
void sha256_digest_to_hex(const unsigned char digest[32], char hex[65]);

#endif

/*
 * sft.c — (prompt, response) rows with a loss mask on the response (see
 * sft.h).  Shared by base-model pretraining and distillation, so both see
 * exactly the sequence layout that rollout and eval sample from.
 */
#include <stdlib.h>
#include <string.h>

#include "learner/sft.h"

int sft_batch_alloc(sft_batch *bt, int capacity, int max_seq, core_error *err) {
    memset(bt, 0, sizeof *bt);
    size_t n = (size_t)capacity * (size_t)max_seq;
    bt->tokens = malloc(n * sizeof *bt->tokens);
    bt->mask = malloc(n * sizeof *bt->mask);
    bt->logprob = malloc(n * sizeof *bt->logprob);
    bt->dlogprob = malloc(n * sizeof *bt->dlogprob);
    bt->lens = malloc((size_t)capacity * sizeof *bt->lens);
    bt->prompt_lens = malloc((size_t)capacity * sizeof *bt->prompt_lens);
    bt->B = bt->capacity = capacity;
    bt->max_seq = max_seq;
    if (!bt->tokens || !bt->mask || !bt->logprob || !bt->dlogprob || !bt->lens || !bt->prompt_lens)
        return core_fail(err, CORE_ERUNTIME, "out of memory for a batch of %d sequences", capacity);
    return 0;
}

void sft_batch_free(sft_batch *bt) {
    free(bt->tokens); free(bt->mask); free(bt->logprob); free(bt->dlogprob);
    free(bt->lens); free(bt->prompt_lens);
    memset(bt, 0, sizeof *bt);
}

void sft_batch_encode_row(sft_batch *bt, int b, const tokenizer *tok, const char *prompt,
                          const char *response) {
    int *row = bt->tokens + (size_t)b * bt->max_seq;
    int np = tokenizer_encode(tok, prompt, strlen(prompt), row, bt->max_seq - 1);
    if (np < 0) np = bt->max_seq - 1;
    int room = bt->max_seq - np;
    int nr = tokenizer_encode(tok, response, strlen(response), row + np, room);
    if (nr < 0) nr = room;
    int len = np + nr;
    if (len < bt->max_seq && tokenizer_eos(tok) >= 0) row[len++] = tokenizer_eos(tok);
    bt->lens[b] = len;
    bt->prompt_lens[b] = np;
}

void sft_batch_set_row(sft_batch *bt, int b, const int *prompt, int n_prompt, const int *response,
                       int n_response) {
    int *row = bt->tokens + (size_t)b * bt->max_seq;
    int np = n_prompt < bt->max_seq - 1 ? n_prompt : bt->max_seq - 1;
    int nr = n_response < bt->max_seq - np ? n_response : bt->max_seq - np;
    memcpy(row, prompt, sizeof *row * (size_t)np);
    memcpy(row + np, response, sizeof *row * (size_t)nr);
    bt->lens[b] = np + nr;
    bt->prompt_lens[b] = np;
}

/* Rows are repacked from stride max_seq to stride T in place, front to
 * back, which is safe since T <= max_seq. */
void sft_batch_finish(sft_batch *bt, const tokenizer *tok) {
    int T = 2, pad = tokenizer_pad(tok);
    if (pad < 0) pad = tokenizer_eos(tok) >= 0 ? tokenizer_eos(tok) : 0; /* never in the loss */
    for (int b = 0; b < bt->B; b++) T = bt->lens[b] > T ? bt->lens[b] : T;
    bt->T = T;
    bt->n_tokens = 0;
    bt->n_masked = 0;
    for (int b = 0; b < bt->B; b++) {
        int *src = bt->tokens + (size_t)b * bt->max_seq, *dst = bt->tokens + (size_t)b * T;
        memmove(dst, src, (size_t)bt->lens[b] * sizeof *dst);
        for (int t = bt->lens[b]; t < T; t++) dst[t] = pad;
        float *mask = bt->mask + (size_t)b * T;
        for (int t = 0; t < T; t++) {
            int predicts_response = t + 1 >= bt->prompt_lens[b] && t + 1 < bt->lens[b];
            mask[t] = predicts_response ? 1.0f : 0.0f;
            bt->n_masked += predicts_response;
        }
        bt->n_tokens += bt->lens[b];
    }
}

double sft_batch_loss(sft_batch *bt, int want_grad) {
    double sum = 0;
    size_t n = (size_t)bt->B * bt->T;
    float scale = bt->n_masked ? 1.0f / (float)bt->n_masked : 0.0f;
    for (size_t i = 0; i < n; i++) {
        sum -= bt->mask[i] * bt->logprob[i];
        if (want_grad) bt->dlogprob[i] = -bt->mask[i] * scale;
    }
    return bt->n_masked ? sum / bt->n_masked : 0.0;
}

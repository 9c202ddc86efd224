/*
 * learner/sft.h — supervised batches of (prompt, response) rows with the
 * loss on the response tokens: what `grpo pretrain` trains the base model
 * with and `grpo distill` trains a student with.
 *
 * A row is  encode(prompt) ++ encode(response) ++ EOS,  padded with the
 * tokenizer's pad id to T, the longest row of the batch.  mask[b*T + t] = 1
 * where position t predicts a response token or the closing EOS, so the
 * loss is -mean over masked positions of log p(next token).
 */
#ifndef GRPO_LEARNER_SFT_H
#define GRPO_LEARNER_SFT_H

#include "core/core.h"
#include "model/tokenizer.h"

typedef struct sft_batch {
    int *tokens;                /* (B, T) once finished; rows of stride max_seq while filling */
    float *mask, *logprob, *dlogprob; /* (B, T) */
    int *lens, *prompt_lens;    /* (B) tokens in each row, and of them the prompt's */
    int B, T, max_seq, capacity;
    long n_tokens;              /* real (non-pad) tokens in the batch */
    int n_masked;               /* positions in the loss */
} sft_batch;

/* Room for `capacity` rows of at most max_seq tokens; B starts at capacity. */
int  sft_batch_alloc(sft_batch *bt, int capacity, int max_seq, core_error *err);
void sft_batch_free(sft_batch *bt);
/* Encode row b.  A response that does not fit is cut at max_seq (and loses
 * its EOS); a prompt that does not fit leaves one token for the response. */
void sft_batch_encode_row(sft_batch *bt, int b, const tokenizer *tok, const char *prompt,
                          const char *response);
/* Row b from token ids: the prompt's, then the response's as they are (a
 * sampled response carries its own EOS when it ended with one); cut at
 * max_seq. */
void sft_batch_set_row(sft_batch *bt, int b, const int *prompt, int n_prompt, const int *response,
                       int n_response);
/* After rows 0..B-1 are encoded: pack them to (B, T) and build the mask. */
void sft_batch_finish(sft_batch *bt, const tokenizer *tok);
/* Masked mean of -logprob (bt->logprob filled by model_forward); with
 * want_grad also dlogprob = -mask / n_masked for model_backward. */
double sft_batch_loss(sft_batch *bt, int want_grad);

#endif

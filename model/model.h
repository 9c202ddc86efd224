/*
 * model/model.h — a Llama-style decoder we can both sample from and
 * differentiate, on the CPU or on a CUDA GPU (model_set_device).
 *
 *   embedding → n_layers × [RMSNorm → Q,K,V → RoPE → causal GQA attention →
 *   O → residual → RMSNorm → SwiGLU MLP → residual] → RMSNorm → LM head
 *
 * and the Hugging Face families' variations of it (model_config): q/k/v
 * biases (Qwen2), a head size apart from dim/n_heads and an RMSNorm over
 * each head of q and of k before RoPE (Qwen3), Llama 3.1's RoPE frequency
 * scaling; each computes what transformers' *ForCausalLM computes
 * (tests/model/oracle.py).
 *
 * Parameters, gradients and the AdamW moments each live in ONE contiguous
 * float buffer with the same layout, addressed through a table of named
 * views (Hugging Face Llama tensor names), so AdamW, grad-norm, MPI_Bcast
 * of weights and MPI_Allreduce of gradients are flat loops over a buffer.
 * Activations and the KV cache are sized once in model_create for
 * (max_batch, max_seq); nothing is allocated per token.
 *
 * The learner builds every loss from per-token quantities: model_forward
 * gives log p(next token) (and the entropy) at each position, and
 * model_backward takes d(loss)/d(logprob) (and d(loss)/d(entropy)).
 *
 * Errors follow core.h: 0 or CORE_EINPUT / CORE_ERUNTIME with err filled.
 * A model is not thread-safe: one thread drives it at a time (its kernels
 * use all OpenMP threads).  Buffers are allocated with calloc and only
 * touched as far as they are used, so a worker that only samples does not
 * pay resident memory for the training activations.
 */
#ifndef GRPO_MODEL_H
#define GRPO_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "model/tokenizer.h"

/* Which Hugging Face family a model is (and is exported as).  Our own
 * byte-level models are MODEL_ARCH_LLAMA. */
enum model_arch { MODEL_ARCH_LLAMA = 0, MODEL_ARCH_QWEN2, MODEL_ARCH_QWEN3 };

/* RoPE frequency scaling as Llama 3.1/3.2 ship it (rope_scaling.rope_type
 * "llama3"); type 0: none. */
enum model_rope_type { MODEL_ROPE_DEFAULT = 0, MODEL_ROPE_LLAMA3 };
typedef struct model_rope_scaling {
    int type;                       /* enum model_rope_type */
    float factor, low_freq_factor, high_freq_factor;
    int original_max_position;      /* original_max_position_embeddings */
} model_rope_scaling;

typedef struct model_config {
    int dim, n_layers, n_heads, n_kv_heads, ffn_dim, vocab, max_seq;
    float rope_theta, norm_eps;
    int tie_embeddings;
    /* The Hugging Face families' variations; all zero for our own models. */
    int arch;          /* enum model_arch */
    int head_dim;      /* 0: dim / n_heads (Qwen3 sets it independently) */
    int qkv_bias;      /* Qwen2: q_proj, k_proj, v_proj have biases */
    int qk_norm;       /* Qwen3: RMSNorm over each head of q and of k, before RoPE */
    model_rope_scaling rope_scaling;
} model_config;

/* From cfg.model, validated: dim % n_heads == 0, even head size,
 * n_heads % n_kv_heads == 0, vocab >= TOK_N_SPECIAL_END, ... */
int model_config_from(model_config *mc, const core_config *cfg, core_error *err);
/* The same checks on a filled struct (what = where it came from, for the message). */
int model_config_check(const model_config *mc, const char *what, core_error *err);
/* Parameters of a config (without building the model). */
size_t model_config_n_params(const model_config *mc);

typedef struct model model;

/* max_batch: most sequences per forward/backward and per sampled group. */
int  model_create(model **out, const model_config *mc, int max_batch, core_error *err);
void model_free(model *m);
const model_config *model_get_config(const model *m);
int  model_max_batch(const model *m);

/* Normal(0, init_std) for matrices, ones for norm weights, zeros for biases; the output
 * projections (o_proj, down_proj) get init_std / sqrt(2 n_layers) (GPT-2).
 * Deterministic in seed (core_rng_stream(seed, CORE_RNG_INIT, ...)). */
void model_init(model *m, uint64_t seed, float init_std);

/* Where the model's buffers live and its kernels run: "cpu" (every model
 * starts there) or "cuda" (one GPU, picked by the local MPI rank).
 * Parameters, gradients, AdamW moments, activations and the KV cache move
 * to the device, and the forward, backward, AdamW and sampling run there;
 * only what the host needs crosses (tokens, log-probs, the logits the
 * sampler draws from, and the explicit staging calls below).  CORE_EINPUT
 * naming model.device when this binary has no such backend (built without
 * CUDA) or it cannot start (no GPU).  matmul (config model.matmul; NULL:
 * "fp32") is how the device's matrix products multiply: "fp32" exact,
 * "tf32" or "bf16" on CUDA tensor cores with fp32 sums and fp32 master
 * weights (the decode products stay fp32); for the whole process. */
int model_set_device(model *m, const char *device, const char *matmul, core_error *err);
const char *model_device(const model *m);            /* "cpu", "cuda" */
/* The same check before any model exists (a run checks its config first). */
int model_device_check(const char *device, const char *matmul, core_error *err);
/* 0, or CORE_ERUNTIME with the device's first error (a failed launch, out
 * of device memory); the CPU never fails here. */
int model_check_device(const model *m, core_error *err);

/* The flat buffers (n_params floats each), for MPI, checkpoints and copying
 * a frozen reference.  Same layout in all three.  They are HOST copies:
 * model_params / model_grads bring the device's values into them (free on
 * the CPU, where the copy is the buffer itself), and after writing into one
 * (MPI_Bcast, MPI_Allreduce, a test) model_params_commit /
 * model_grads_commit sends it back to the device. */
size_t model_n_params(const model *m);
float *model_params(model *m);
float *model_grads(model *m);
void   model_params_commit(model *m);
void   model_grads_commit(model *m);
int    model_copy_params(model *dst, const model *src); /* configs must match; CORE_EINPUT if not */

/* The named views: HF name ("model.layers.0.self_attn.q_proj.weight"),
 * offset into the flat buffers, shape (rows, cols; cols = 0 for vectors). */
typedef struct model_tensor {
    char name[80];
    size_t offset, numel;
    int rows, cols;
} model_tensor;
int model_n_tensors(const model *m);
const model_tensor *model_tensor_at(const model *m, int i);
const model_tensor *model_tensor_find(const model *m, const char *name);

/* Forward over B sequences of T tokens (tokens (B,T) row-major, padded with
 * TOK_PAD past each sequence's end; 1 <= B <= max_batch, 1 <= T <= max_seq;
 * every token in 0..vocab-1, else CORE_EINPUT).  Padding after a sequence
 * never changes its earlier positions (causal attention).
 * logprob[b*T+t] = log p(tokens[b,t+1] | tokens[b,0..t]) for t < T-1;
 * position T-1 gets 0.  entropy (may be NULL): entropy of the predicted
 * distribution at (b,t) (0 at T-1).  Keeps what backward needs. */
int model_forward(model *m, const int *tokens, int B, int T, float *logprob, float *entropy,
                  core_error *err);
/* Backward of the last forward.  dlogprob (B,T) = d(loss)/d(logprob), zero
 * where masked; dentropy (may be NULL) likewise for an entropy bonus.
 * Position T-1 of each row has no gradient (nothing to predict there).
 * ACCUMULATES into the gradient buffer (call model_zero_grad first). */
void model_backward(model *m, const float *dlogprob, const float *dentropy);
/* Whole distributions, for distillation's KL objectives: the logits of the
 * last model_forward, (B*T, V) row-major (row b*T+t predicts token t+1 of
 * sequence b); NULL before any forward.  Valid until the next forward or
 * sampling call. */
const float *model_last_logits(const model *m);
/* Backward of the last forward from d(loss)/d(logits) (B*T, V) given
 * directly (rows at T-1 and padding should be zero).  ACCUMULATES into the
 * gradient buffer, like model_backward. */
void model_backward_logits(model *m, const float *dlogits);

void  model_zero_grad(model *m);
float model_grad_norm(const model *m);       /* global L2 norm */
void  model_scale_grads(model *m, float s);

typedef struct model_adamw { float lr, beta1, beta2, eps, weight_decay; } model_adamw;
/* One AdamW step; t is the 1-based step for bias correction.  Weight decay
 * applies to matrices only (not to norm weights or biases).  Remembers t (saved with
 * the optimizer state). */
void model_adamw_step(model *m, const model_adamw *hp, int t);
int  model_adamw_t(const model *m);          /* last t stepped (0: none) */
void model_reset_optimizer(model *m);        /* zero moments, t = 0 */
/* Learning rate at step (0-based): linear warmup to peak over warmup steps,
 * then constant (cosine = 0) or cosine decay to min_frac * peak at total. */
float model_lr_schedule(float peak, int step, int warmup, int total, float min_frac, int cosine);

/* --------------------------------------------------------------- sampling */
typedef struct model_sample_params {
    float temperature;   /* 0: greedy (argmax) */
    float top_p;         /* 1: off */
    int top_k;           /* 0: off */
    int max_new_tokens;  /* clipped so that prompt + completion <= max_seq */
    const char *stop;    /* stop when the decoded text ends with this; NULL or "": none */
} model_sample_params;

enum model_finish { MODEL_FINISH_EOS = 1, MODEL_FINISH_STOP, MODEL_FINISH_LENGTH };
const char *model_finish_name(int finish);   /* "eos", "stop", "length" */

/* One completion.  The caller provides tokens and logprob arrays of
 * max_new_tokens entries.  tokens excludes the prompt and includes the EOS or
 * the tokens that completed the stop string.  logprob[i] is the log-prob of
 * tokens[i] under the distribution it was sampled from (after temperature,
 * top-k, top-p); with temperature 0 it is the model's own log-prob. */
typedef struct model_sample {
    int n_tokens;
    int *tokens;
    float *logprob;
    int finish;
} model_sample;

/* Prefill the prompt once (G <= max_batch, prompt_len >= 1), copy its KV
 * cache to G slots and decode the G samples as one batch.  rng[g] is sample
 * g's own stream (one uniform draw per token), and each row of the batch is
 * computed independently of the others, so a sample is bit-identical whether
 * decoded alone or in the group. */
int model_sample_group(model *m, const int *prompt, int prompt_len, int G,
                       const model_sample_params *sp, core_rng *rng, model_sample *out,
                       core_error *err);

/* P prompts with G samples each, all decoded as one batch of P*G rows
 * (P*G <= max_batch): sample p*G+g continues prompts[p] with rng[p*G+g]
 * into out[p*G+g].  Each prompt is prefilled once.  The same row
 * independence holds: any sample equals itself decoded alone.  Sampling
 * overwrites the state model_forward kept for model_backward. */
int model_sample_prompts(model *m, const int *const *prompts, const int *prompt_lens, int P,
                         int G, const model_sample_params *sp, core_rng *rng, model_sample *out,
                         core_error *err);

/* The tokenizer that goes with the model's ids: the byte-level one for our
 * own models, the directory's tokenizer.json for a Hugging Face model.
 * The model owns it (model_free frees it); model_set_tokenizer takes
 * ownership and frees the previous one. */
const tokenizer *model_tokenizer(const model *m);
void model_set_tokenizer(model *m, tokenizer *t);

/* ------------------------------------------------------------ checkpoints */
/* path is a .safetensors file with Hugging Face tensor names (F32); beside
 * it config.json (so transformers opens the folder).  The header's __metadata__ records the sha256 of the tensor
 * data, verified on load.  with_optimizer: also PATH minus ".safetensors"
 * plus ".optim.safetensors" with the AdamW moments and step, for exact
 * resume.  Writes to a temporary name and renames, so a crash never leaves
 * a half-written checkpoint under the final name.  config.json names the
 * model's family (Llama, Qwen2, Qwen3) with our byte-level tokenizer's
 * special ids; a model with a Hugging Face tokenizer is CORE_EINPUT here
 * (it would reload with the wrong one): model_save_hf writes it. */
int model_save(const model *m, const char *path, int with_optimizer, core_error *err);
/* Reads config.json beside path, creates the model (max_batch as in
 * model_create), loads and verifies the weights, and the optimizer state if
 * its file exists.  Truncated, corrupted or mismatched files: CORE_EINPUT
 * naming the file and what is wrong. */
int model_load(model **out, const char *path, int max_batch, core_error *err);
/* Load weights (and optimizer state if present: NAME.optim.safetensors, or
 * a directory's optimizer.safetensors) into an existing model whose config
 * must match the file's. */
int model_load_into(model *m, const char *path, core_error *err);
/* Hugging Face model directories: config.json (LlamaForCausalLM,
 * Qwen2ForCausalLM, Qwen3ForCausalLM), model.safetensors or shards listed
 * by model.safetensors.index.json (F32, BF16 or F16, converted to fp32 from
 * a memory map, tensor by tensor), tokenizer.json (required: the model's
 * ids mean nothing without it; our own byte-level exports say
 * "grpo_tokenizer": "bytes" in config.json instead), stop ids from
 * config.json's and generation_config.json's eos_token_id.
 * max_seq: 0 takes config.json's max_position_embeddings (32768 and more
 * for current models: the attention scores alone are max_batch x heads x
 * max_seq^2 floats, so callers cap it); a positive value at most that is
 * the model's max_seq; a negative value -N caps it at N.  Anything not
 * supported, missing, truncated or of the wrong shape is CORE_EINPUT naming
 * the file and the field or tensor.  model_load and model_load_into take a
 * directory too (model_load with max_seq capped at MODEL_DIR_MAX_SEQ). */
int model_load_hf(model **out, const char *dir, int max_batch, int max_seq, core_error *err);
enum { MODEL_DIR_MAX_SEQ = 4096 };

enum model_dtype { MODEL_DTYPE_F32 = 0, MODEL_DTYPE_BF16 };
/* Write dir as a Hugging Face model directory that transformers and vLLM
 * open: config.json (src_dir's, with torch_dtype set, when src_dir has one;
 * else built from the model's config), model.safetensors in dtype (a tied
 * head is stored once), src_dir's tokenizer and generation files copied as
 * they are, and with_optimizer optimizer.safetensors (AdamW moments and
 * step; transformers ignores it, model_load_into restores it).  Written as
 * dir.tmp-XXXXXX and renamed at the end; an existing dir is CORE_EINPUT,
 * never overwritten.  src_dir may be NULL. */
int model_save_hf(const model *m, const char *dir, const char *src_dir, int dtype, int with_optimizer,
                  core_error *err);
/* Remove what model_save_hf wrote into dir, and dir itself when that
 * leaves it empty (checkpoint retention). */
void model_remove_hf(const char *dir);

/* What commands call: PATH is a Hugging Face model directory (loaded with
 * model_load_hf; max_seq > 0 caps its context, whose buffers are sized for
 * max_batch x max_seq) or one of our .safetensors checkpoints (model_load;
 * its own max_seq). */
int model_open(model **out, const char *path, int max_batch, int max_seq, core_error *err);
/* sha256 (hex, 64 chars + NUL) of a whole file, e.g. for the checkpoints table. */
int model_file_sha256(const char *path, char hex[65], core_error *err);

/* Start-up for commands that run the model: see ops_blas_setup (ops.h).
 * Re-executes the program with OPENBLAS_CORETYPE set when OpenBLAS
 * misdetects the CPU; logs which BLAS kernel is in use. */
void model_blas_setup(char **argv);

#endif

/*
 * distill_loss.c — the full-vocabulary KL terms of distillation, one
 * position at a time, in double precision (V is small next to the matmuls
 * that produced the logits).  Checked against PyTorch autograd by
 * tests/learner/test_distill.c.
 */
#include <math.h>
#include <string.h>

#include "learner/distill.h"

int distill_objective_kind(const char *name) {
    if (!strcmp(name, "sft")) return DISTILL_SFT;
    if (!strcmp(name, "forward_kl")) return DISTILL_FORWARD_KL;
    if (!strcmp(name, "on_policy")) return DISTILL_ON_POLICY;
    return -1;
}

/* log-sum-exp of z (V). */
static double logsumexp(const float *z, int V) {
    double mx = -INFINITY, sum = 0;
    for (int j = 0; j < V; j++) mx = z[j] > mx ? z[j] : mx;
    for (int j = 0; j < V; j++) sum += exp(z[j] - mx);
    return mx + log(sum);
}

double distill_forward_kl(const float *student_logits, const float *teacher_logits, int V,
                          float weight, float *dlogits) {
    double ls = logsumexp(student_logits, V), lt = logsumexp(teacher_logits, V), kl = 0;
    for (int j = 0; j < V; j++) {
        double log_s = student_logits[j] - ls, log_t = teacher_logits[j] - lt, p_t = exp(log_t);
        kl += p_t * (log_t - log_s);
        dlogits[j] += (float)(weight * (exp(log_s) - p_t));
    }
    return kl;
}

double distill_reverse_kl(const float *student_logits, const float *teacher_logits, int V,
                          float weight, float *dlogits) {
    double ls = logsumexp(student_logits, V), lt = logsumexp(teacher_logits, V), kl = 0;
    for (int j = 0; j < V; j++) {
        double log_s = student_logits[j] - ls, log_t = teacher_logits[j] - lt;
        kl += exp(log_s) * (log_s - log_t);
    }
    for (int j = 0; j < V; j++) {
        double log_s = student_logits[j] - ls, log_t = teacher_logits[j] - lt;
        dlogits[j] += (float)(weight * exp(log_s) * (log_s - log_t - kl));
    }
    return kl;
}

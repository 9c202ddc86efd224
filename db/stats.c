/*
 * stats.c — the statistics of `grpo report`: Welch's unequal-variance
 * t-test between two samples (the final held-out scores of two arms over
 * their seeds), its p-value from Student's t distribution through the
 * regularised incomplete beta function.
 *
 *   t  = (mean_a - mean_b) / sqrt(va/na + vb/nb)        (va, vb unbiased)
 *   df = (va/na + vb/nb)^2 / ((va/na)^2/(na-1) + (vb/nb)^2/(nb-1))
 *   p  = P(|T_df| >= |t|) = I_{df/(df+t^2)}(df/2, 1/2)
 */
#include <math.h>

#include "db/db.h"

/* The continued fraction of I_x(a, b), evaluated by the modified Lentz
 * method: 1 / (1 + d1 / (1 + d2 / (1 + ...))) with
 *   d_{2m+1} = -(a+m)(a+b+m) x / ((a+2m)(a+2m+1))
 *   d_{2m}   =  m(b-m) x / ((a+2m-1)(a+2m))
 * Converges fast for x < (a+1)/(a+b+2). */
static double beta_fraction(double a, double b, double x) {
    const double tiny = 1e-300;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    if (fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double f = d;
    for (int m = 1; m <= 300; m++) {
        for (int odd = 0; odd < 2; odd++) {
            double num = odd ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                             : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
            d = 1 + num * d;
            c = 1 + num / c;
            if (fabs(d) < tiny) d = tiny;
            if (fabs(c) < tiny) c = tiny;
            d = 1 / d;
            f *= c * d;
            if (odd && fabs(c * d - 1) < 1e-15) return f;
        }
    }
    return f;
}

double db_incomplete_beta(double a, double b, double x) {
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    /* x^a (1-x)^b / B(a, b), in logs */
    double front = exp(a * log(x) + b * log1p(-x) - (lgamma(a) + lgamma(b) - lgamma(a + b)));
    if (x < (a + 1) / (a + b + 2)) return front * beta_fraction(a, b, x) / a;
    return 1 - front * beta_fraction(b, a, 1 - x) / b; /* I_x(a,b) = 1 - I_{1-x}(b,a) */
}

double db_student_t_p(double t, double df) {
    return db_incomplete_beta(df / 2, 0.5, df / (df + t * t));
}

static void mean_var(const double *x, int n, double *mean, double *var) {
    double m = 0, v = 0;
    for (int i = 0; i < n; i++) m += x[i];
    m /= n;
    for (int i = 0; i < n; i++) v += (x[i] - m) * (x[i] - m);
    *mean = m;
    *var = n > 1 ? v / (n - 1) : NAN;
}

int db_welch_test(const double *a, int na, const double *b, int nb, db_welch *out) {
    double ma, va, mb, vb;
    if (na < 2 || nb < 2) return -1;
    mean_var(a, na, &ma, &va);
    mean_var(b, nb, &mb, &vb);
    double sa = va / na, sb = vb / nb;
    if (sa + sb == 0) return -1; /* no spread at all: the test is undefined */
    out->t = (ma - mb) / sqrt(sa + sb);
    out->df = (sa + sb) * (sa + sb) / (sa * sa / (na - 1) + sb * sb / (nb - 1));
    out->p = db_student_t_p(out->t, out->df);
    return 0;
}

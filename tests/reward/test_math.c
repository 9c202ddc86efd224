/*
 * tests/reward/test_math.c — table-driven tests of extraction, normalisation
 * and equivalence (reward/math_*.c).  Every table row is one case; a failing
 * row is reported with its index and text.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <time.h>

#include "reward/math_internal.h"
#include "reward/reward.h"

/* CPU time of this thread: bounds on work must not fail because the machine is busy. */
static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

#define DEFAULT_RULES "answer_tag,boxed,gsm8k,answer_is,latex_math,whole,last_number"
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ----------------------------------------------------------- extraction */

typedef struct extract_case {
    const char *text;
    const char *rules;    /* NULL: the default order */
    const char *answer;   /* NULL: no rule fires */
    const char *rule;     /* the rule expected to fire */
} extract_case;

static const extract_case extract_cases[] = {
    /* the demo */
    {"<think>23+45=68 68+12=80</think><answer>80</answer>", 0, "80", "answer_tag"},
    {"<think>23+45=68</think>\n<answer> 68 </answer>\n", 0, "68", "answer_tag"},
    {"<think>a</think><answer>1</answer><answer>2</answer>", 0, "2", "answer_tag"},
    {"<think>x</think><answer>42", 0, "42", "answer_tag"},
    {"<answer>\\boxed{7}</answer>", 0, "7", "answer_tag"},
    {"<answer>The sum is 80.</answer>", 0, "80", "answer_tag"},
    {"<answer>So the answer is $\\frac{1}{2}$.</answer>", 0, "$\\frac{1}{2}$", "answer_tag"},
    {"<answer>\\frac{3}{4}</answer>", 0, "\\frac{3}{4}", "answer_tag"},
    {"<answer>(1, 2)</answer>", 0, "(1, 2)", "answer_tag"},
    {"<answer>x = 5</answer>", 0, "x = 5", "answer_tag"},
    {"<answer></answer> 17", 0, "17", "last_number"},
    {"</answer>80<answer>", 0, "80", "last_number"},
    {"<think>80</think>", 0, "80", "last_number"},
    {"<answer>blue</answer>", 0, "blue", "answer_tag"},
    {"<ANSWER>5</ANSWER> and 6", 0, "6", "last_number"},
    /* boxed */
    {"so \\boxed{5}", 0, "5", "boxed"},
    {"\\boxed{1} then \\boxed{2}", 0, "2", "boxed"},
    {"\\boxed{\\frac{1}{2}}", 0, "\\frac{1}{2}", "boxed"},
    {"\\boxed{\\frac{\\sqrt{3}}{2}} done", 0, "\\frac{\\sqrt{3}}{2}", "boxed"},
    {"\\boxed{{{{x}}}}", 0, "{{{x}}}", "boxed"},
    {"\\boxed{\\boxed{9}}", 0, "9", "boxed"},
    {"\\fbox{12}", 0, "12", "boxed"},
    {"\\boxed 5 is it", 0, "5", "boxed"},
    {"\\boxed{\\{1,2\\}}", 0, "\\{1,2\\}", "boxed"},
    {"\\boxed{unclosed 7", 0, "7", "last_number"},
    {"\\boxed{} 3", 0, "\\boxed{} 3", "whole"},
    {"\\boxed{3} and \\fbox{4}", 0, "\\boxed{3} and \\fbox{4}", "boxed"},
    {"$\\boxed{x=2}$", 0, "x=2", "boxed"},
    /* gsm8k */
    {"Natalia sold 48 clips.\n#### 72", 0, "72", "gsm8k"},
    {"#### 1,000\nmore text 5", 0, "1,000", "gsm8k"},
    {"####", 0, NULL, "none"},
    {"#### 3 #### 4", 0, "4", "gsm8k"},
    /* answer is */
    {"So the answer is 42.", 0, "42", "answer_is"},
    {"The final answer is 3.5", 0, "3.5", "answer_is"},
    {"Answer: 17", 0, "17", "answer_is"},
    {"the answer is: 8\nextra 9", 0, "8", "answer_is"},
    {"The answer is $\\frac{1}{3}$. Done 5", 0, "$\\frac{1}{3}$", "answer_is"},
    {"answer is 1. Wait, the answer is 2.", 0, "2", "answer_is"},
    {"The Answer Is x = 4.", 0, "x = 4", "answer_is"},
    {"answers is 3 and 4", 0, "4", "last_number"},
    /* latex math */
    {"we get $x = 3$", 0, "x = 3", "latex_math"},
    {"first $1$ then $2$", 0, "2", "latex_math"},
    {"result: \\[\\frac{5}{6}\\]", 0, "\\frac{5}{6}", "latex_math"},
    {"so \\(7\\) holds", 0, "7", "latex_math"},
    {"$$10$$", 0, "10", "latex_math"},
    {"costs \\$5 and $y$", 0, "y", "latex_math"},
    {"$ $ 4", 0, "$ $ 4", "whole"},
    /* whole */
    {"\\frac{1}{2}", 0, "\\frac{1}{2}", "whole"},
    {"7,425,000", 0, "7,425,000", "whole"},
    {"  -3  ", 0, "-3", "whole"},
    {"97+37=134 134+64=198 198+13=211 211", 0, "211", "last_number"},
    {"11+14=25 25+78=103 103+17=120 120", 0, "120", "last_number"},
    {"\\{1,2\\}", 0, "\\{1,2\\}", "whole"},
    {"Monday", 0, "Monday", "whole"},
    {"(1, 2)", 0, "(1, 2)", "whole"},
    {"x=3", 0, "x=3", "whole"},
    {"2\\sqrt{3}", 0, "2\\sqrt{3}", "whole"},
    /* last number */
    {"there are 3 apples and 5 pears", 0, "5", "last_number"},
    {"it is -12 degrees", 0, "-12", "last_number"},
    {"about 3.14 or so", 0, "3.14", "last_number"},
    {"total 1,234,567 people", 0, "1,234,567", "last_number"},
    {"half is 1/2 of it", 0, "1/2", "last_number"},
    {"end with 80.", 0, "80", "last_number"},
    {"3-5 pages", 0, "5", "last_number"},
    {"abc123 x", 0, NULL, "none"},
    {"no numbers here at all, sorry", 0, NULL, "none"},
    {"", 0, NULL, "none"},
    /* several boxes joined by separators are one answer with several values */
    {"so \\boxed{2} and \\boxed{3}", 0, "\\boxed{2} and \\boxed{3}", "boxed"},
    {"$\\boxed{2}$, $\\boxed{3}$.", 0, "\\boxed{2}$, $\\boxed{3}", "boxed"},
    {"\\boxed{2}. Check: then \\boxed{3}", 0, "3", "boxed"},
    {"So the answer is \\(\\frac{3}{4}\\).", 0, "\\(\\frac{3}{4}\\)", "answer_is"},
    {"Thus, the solutions are $x = 1$ and $x = 2$.", 0, "x = 1$ and $x = 2", "latex_math"},
    {"Since $a = 1$, we get $b = 2$.", 0, "b = 2", "latex_math"},
    {"So the answer is 12 apples.", 0, "12", "answer_is"},
    {"The answer is 15 because 3*5=15.", 0, "15", "answer_is"},
    {"The answer is 3 and 4 in some order.", 0, "3 and 4", "answer_is"},
    {"The answer is $\\frac{1}{2}$ of the pie.", 0, "$\\frac{1}{2}$", "answer_is"},
    {"The answer is for sure C, not A.", 0, "for sure C, not A", "answer_is"},
    {"The answer is x = 5 when y = 2.", 0, "x = 5", "answer_is"},
    /* the answer follows the reasoning */
    {"<think>maybe \\boxed{4}</think>The answer is 5.", 0, "5", "answer_is"},
    {"<think>maybe \\boxed{4}", 0, "4", "boxed"},
    /* answers in other languages, and choice letters */
    {"Donc la r\xc3\xa9ponse est C.", 0, "C", "answer_is"},
    {"La respuesta es A.", 0, "A", "answer_is"},
    {"Die Antwort ist E.", 0, "E", "answer_is"},
    {"\xe7\xad\x94\xe6\xa1\x88\xe6\x98\xaf B\xe3\x80\x82", 0, "B", "answer_is"},
    {"The correct option is (C).", 0, "(C)", "answer_is"},
    {"**Answer: (C)**", 0, "(C)**", "answer_is"},
    {"the answers is 3", 0, "3", "last_number"},
    /* rule order is configurable */
    {"\\boxed{1} #### 2", "gsm8k,boxed", "2", "gsm8k"},
    {"\\boxed{1} #### 2", "boxed,gsm8k", "1", "boxed"},
    {"<answer>3</answer> \\boxed{4}", "boxed,answer_tag", "4", "boxed"},
    {"<answer>3</answer> \\boxed{4}", "answer_tag", "3", "answer_tag"},
    {"the answer is 6", "answer_tag,boxed", NULL, "none"},
    {"the answer is 6", "last_number", "6", "last_number"},
    {"<answer>3</answer>", " answer_tag , boxed ", "3", "answer_tag"},
};

Test(extract, table) {
    for (size_t i = 0; i < N(extract_cases); i++) {
        const extract_case *c = &extract_cases[i];
        char out[256];
        const char *rule = NULL;
        int n = reward_math_extract(c->text, strlen(c->text), c->rules ? c->rules : DEFAULT_RULES, out,
                                    sizeof out, &rule);
        if (c->answer) {
            cr_expect(n >= 0 && !strcmp(out, c->answer), "extract case %zu (%s): got '%s', want '%s'", i,
                      c->text, out, c->answer);
            cr_expect(n == (int)strlen(out), "extract case %zu: length %d", i, n);
        } else {
            cr_expect(n == -1, "extract case %zu (%s): got '%s', want nothing", i, c->text, out);
        }
        cr_expect(rule && !strcmp(rule, c->rule), "extract case %zu (%s): rule %s, want %s", i, c->text,
                  rule ? rule : "NULL", c->rule);
    }
}

Test(extract, truncates_to_cap) {
    char out[4];
    int n = reward_math_extract("<answer>123456</answer>", 23, DEFAULT_RULES, out, sizeof out, NULL);
    cr_expect_eq(n, 6, "the full length, like snprintf");
    cr_expect_str_eq(out, "123");
}

Test(extract, check_rules) {
    core_error err = {0};
    cr_expect_eq(reward_math_check_rules(DEFAULT_RULES, &err), 0);
    cr_expect_eq(reward_math_check_rules("boxed,bogus", &err), CORE_EINPUT);
    cr_expect(strstr(err.msg, "reward.math_extract") && strstr(err.msg, "bogus"), "%s", err.msg);
    cr_expect_eq(reward_math_check_rules(" , ", &err), CORE_EINPUT);
}

/* -------------------------------------------------------- normalisation */

typedef struct norm_case {
    const char *in, *out;
} norm_case;

static const norm_case norm_cases[] = {
    {"\\dfrac{1}{2}", "\\frac{1}{2}"},
    {"\\tfrac{3}{4}", "\\frac{3}{4}"},
    {"\\left( 1, 2 \\right)", "( 1, 2 )"},
    {"\\left[0,1\\right)", "[0,1)"},
    {"\\left.x\\right|", "x|"},
    {"1\\!000", "1000"},
    {"1\\,000", "1000"},
    {"1{,}000{,}000", "1000000"},
    {"7,425,000", "7425000"},
    {"1,234.5", "1234.5"},
    {"1,23", "1,23"},
    {"1,2345", "1,2345"},
    {"(1,000, 2)", "(1,000, 2)"},
    {"12,345,67", "12,345,67"},
    {"\\text{5 apples}", "5 apples"},
    {"5\\text{ cm}", "5"},
    {"5 \\mathrm{cm}^2", "5"},
    {"12 square units", "12"},
    {"\\mbox{Monday}", "Monday"},
    {"\\textbf{(B)}", "(B)"},
    {"90^\\circ", "90"},
    {"90^{\\circ}", "90"},
    {"90\xc2\xb0", "90"},
    {"45 degrees", "45"},
    {"\\$5.00", "5.00"},
    {"$5", "5"},
    {"50\\%", "50%"},
    {"50 percent", "50%"},
    {"x = 3", "3"},
    {"y=\\frac{1}{2}", "\\frac{1}{2}"},
    {"\\theta \\in [0, \\pi]", "[0, \\pi]"},
    {"x=1, y=2", "x=1, y=2"},
    {"a = b = c", "a = b = c"},
    {"f(x) = 2", "2"},
    {"m\\angle A = 60^\\circ", "60"},
    {"x + y = 5", "5"}, {"2x + y = 5", "2x + y = 5"}, {"x^2 = 4", "x^2 = 4"},
    {"3.", "3"},
    {"\"yes\"", "yes"},
    {"5 .", "5"},
    {"  a   b  ", "a b"},
    {"2 \\times 3", "2 * 3"},
    {"2\\cdot3", "2*3"},
    {"6 \\div 2", "6 / 2"},
    {"\xe2\x88\x92" "5", "-5"},
    {"3\xc3\x97" "4", "3*4"},
    {"\xcf\x80", "\\pi"},
    {"sqrt(2)", "\\sqrt(2)"},
    {"2pi", "2\\pi"},
    {"3 or 4", "3 , 4"},
    {"\\lbrace 1 \\rbrace", "\\{ 1 \\}"},
    {"\\boxed{7}", "7"},
    {"{{5}}", "{{5}}"},
    {"\\displaystyle\\frac12", "\\frac12"},
    {"\\le", "\\le"},
    {"\\leq 3", "\\le 3"},
    {"\\infty", "\\infty"},
    {"\xe2\x88\x9e", "\\infty"},
    {"\xff\xfe bad", "\xff\xfe bad"},
    {"\\text{unclosed", "unclosed"},
    {"}}}", "}}}"},
};

Test(normalize, table) {
    for (size_t i = 0; i < N(norm_cases); i++) {
        char out[256];
        int n = reward_math_normalize(norm_cases[i].in, strlen(norm_cases[i].in), out, sizeof out);
        cr_expect(n >= 0 && !strcmp(out, norm_cases[i].out), "normalize case %zu: '%s' -> '%s', want '%s'", i,
                  norm_cases[i].in, out, norm_cases[i].out);
    }
}

Test(normalize, bounds) {
    char big[REWARD_ANSWER_MAX + 2], out[64];
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = 0;
    cr_expect_eq(reward_math_normalize(big, strlen(big), out, sizeof out), -1, "too long for out");
    cr_expect_eq(reward_math_normalize(big, strlen(big), out, 4096), -1, "longer than REWARD_ANSWER_MAX");
    char deep[2 * REWARD_MAX_DEPTH + 8];
    memset(deep, '{', REWARD_MAX_DEPTH + 1);
    deep[REWARD_MAX_DEPTH + 1] = 0;
    cr_expect_eq(reward_math_normalize(deep, strlen(deep), out, sizeof out), -1, "deeper than REWARD_MAX_DEPTH");
}

/* ---------------------------------------------------------- equivalence */

typedef struct equal_case {
    const char *a, *b;
    int equal;
} equal_case;

static const equal_case equal_cases[] = {
    /* integers, decimals, fractions */
    {"80", "80", 1}, {"80", "81", 0}, {"80", "80.0", 1}, {"80", "80.00", 1}, {"+80", "80", 1},
    {"-0", "0", 1}, {"007", "7", 1}, {"1/2", "0.5", 1}, {"1/2", "\\frac{1}{2}", 1},
    {"\\frac12", "0.5", 1}, {"\\dfrac{1}{2}", "\\tfrac12", 1}, {"2/4", "1/2", 1}, {"1/2", "2", 0},
    {"0.5", "0.05", 0}, {"1/3", "0.3333333", 1}, {"1/3", "0.333", 0}, {"2/3", "0.6666667", 1}, {"2/3", "0.6666", 0}, {"1/3", "2/6", 1}, {"-1/2", "\\frac{-1}{2}", 1},
    {"-\\frac{1}{2}", "\\frac{1}{-2}", 1}, {"-\\frac{1}{2}", "\\frac{1}{2}", 0}, {"3/1", "3", 1},
    {".5", "0.5", 1}, {"0.\\overline{3}", "\\frac{1}{3}", 1}, {"0.1\\overline{6}", "1/6", 1},
    {"1.\\overline{142857}", "8/7", 1}, {"0.\\overline{3}", "0.3", 0}, {"0.\\overline{9}", "1", 1}, {"0.1+0.2", "0.3", 1}, {"0.1", "0.10000001", 0}, {"1e3", "1000", 1},
    {"1.5e-3", "0.0015", 1}, {"1.5\\times10^{3}", "1500", 1}, {"1.5 \\times 10^3", "1500", 1},
    {"2.5\\cdot 10^{-2}", "0.025", 1}, {"6.02e23", "602000000000000000000000", 1},
    {"99999999999999999999999999999999999999999", "99999999999999999999999999999999999999998", 0},
    {"99999999999999999999999999999999999999999", "099999999999999999999999999999999999999999", 1},
    {"-99999999999999999999999999999999999999999", "99999999999999999999999999999999999999999", 0},
    {"1e40", "1e40", 1}, {"1e40", "1.001e40", 0}, {"10^{40}", "1e40", 1},
    {"123456789012345678901234567890", "123456789012345678901234567890", 1},
    {"123456789012345678901234567890", "123456789012345678901234567891", 0},
    {"12345678901234567890123456789012345678", "12345678901234567890123456789012345679", 0},
    /* mixed numbers */
    {"1\\frac{1}{2}", "\\frac{3}{2}", 1}, {"1 1/2", "1.5", 1}, {"2\\frac34", "2.75", 1},
    {"-1\\frac{1}{2}", "-1.5", 1}, {"1\\frac{1}{2}", "0.5", 0},
    /* percentages */
    {"50\\%", "0.5", 1}, {"50%", "50", 1}, {"50%", "0.5", 1}, {"12.5%", "\\frac{1}{8}", 1},
    {"50%", "5", 0}, {"50%", "50%", 1}, {"25%", "0.5", 0},
    /* thousands separators */
    {"7,425,000", "7425000", 1}, {"1,000", "1000", 1}, {"1{,}000", "1000", 1}, {"1\\,000", "1000", 1},
    {"1,000", "1", 0}, {"1,234.5", "1234.5", 1},
    /* units, degrees, money */
    {"5 cm", "5", 1}, {"5\\text{ cm}", "5", 1}, {"90^\\circ", "90", 1}, {"90^{\\circ}", "\\frac{180}{2}", 1},
    {"\\$5", "5", 1}, {"\\$5.00", "5", 1}, {"5 dollars", "5", 1}, {"10 square units", "10", 1},
    {"3 hours", "4", 0}, {"12\\mbox{ inches}", "12", 1},
    /* variables and equations */
    {"x = 3", "3", 1}, {"x=3", "x = 3", 1}, {"x=3", "x=4", 0}, {"y = -2", "-2", 1},
    {"k=\\frac{1}{2}", "0.5", 1}, {"x = 3", "y = 3", 1}, {"a = b = 3", "3", 1}, {"a = b = 3", "4", 0},
    {"x=1, y=2", "1, 2", 1}, {"x=1, y=2", "2, 1", 1}, {"x=1, y=2", "1, 3", 0},
    /* expressions */
    {"2+3", "5", 1}, {"2*3", "6", 1}, {"2^{10}", "1024", 1}, {"2^10", "1024", 1}, {"(1+2)*3", "9", 1},
    {"1+2*3", "7", 1}, {"-2^2", "-4", 1}, {"(-2)^2", "4", 1}, {"2^{-1}", "0.5", 1}, {"2^3^2", "512", 1},
    {"\\frac{1}{2}+\\frac{1}{3}", "\\frac{5}{6}", 1}, {"\\frac{\\frac{1}{2}}{2}", "0.25", 1},
    {"\\sqrt{4}", "2", 1}, {"\\sqrt{16/9}", "4/3", 1}, {"\\sqrt{2}", "1.41421356237", 1},
    {"\\sqrt{2}", "1.4142", 0}, {"2\\sqrt{3}", "\\sqrt{12}", 1}, {"\\sqrt{12}", "3\\sqrt{2}", 0},
    {"\\frac{\\sqrt{3}}{2}", "0.86602540378", 1}, {"\\sqrt[3]{8}", "2", 1}, {"\\sqrt[3]{27}", "3", 1},
    {"\\binom{5}{2}", "10", 1}, {"\\dbinom{10}{3}", "120", 1}, {"\\binom{5}{2}", "20", 0},
    {"\\binom{100}{50}", "100891344545564193334812497256", 1}, {"\\binom{2}{5}", "0", 0},
    {"\\sqrt2", "2^{1/2}", 1}, {"\\pi", "3.14159265359", 1}, {"\\pi", "3.14", 0}, {"2\\pi", "6.283185307", 1},
    {"\\frac{\\pi}{2}", "\\pi/2", 1}, {"\\frac\\pi2", "1.5707963268", 1}, {"e", "2.718281828", 1},
    {"e^2", "7.389056099", 1}, {"\\pi r^2", "\\pi r^2", 1}, {"3(4)", "12", 1}, {"(2)(3)", "6", 1},
    {"\\sqrt{-1}", "1", 0}, {"1/0", "1/0", 1}, {"1/0", "2/0", 0}, {"0^{-1}", "1", 0},
    {"2^{100000}", "3^{100000}", 0}, {"10^{400}", "10^{401}", 0}, {"\\sqrt{2}^2", "2", 1},
    {"sqrt(9)", "3", 1}, {"\xe2\x88\x9a" "9", "3", 1}, {"3\xc3\x97" "4", "12", 1}, {"\xe2\x88\x92" "7", "-7", 1},
    {"\xcf\x80", "\\pi", 1},
    /* tuples and intervals */
    {"(1,2)", "(1, 2)", 1}, {"(1,2)", "(2,1)", 0}, {"(1,2)", "[1,2]", 0}, {"[1,2)", "[1,2)", 1},
    {"[1,2)", "[1,2]", 0}, {"(0.5, 1)", "(\\frac{1}{2}, 1)", 1}, {"\\left(1,2\\right)", "(1,2)", 1},
    {"(1,2,3)", "(1,2)", 0}, {"(-\\infty, 3)", "(-\\infty,3)", 1}, {"(-\\infty, 3]", "(-\\infty, 3)", 0},
    {"(-\\infty, 0) \\cup (1, \\infty)", "(1,\\infty)\\cup(-\\infty,0)", 1},
    {"(-\\infty, 0) \\cup (1, \\infty)", "(-\\infty, 0)", 0}, {"((1,2),(3,4))", "((1,2),(3,4))", 1},
    {"((1,2),(3,4))", "((1, 2), (3, 5))", 0}, {"(1,2)", "1, 2", 0}, {"[0, \\pi]", "[0, 3.14159265359]", 1},
    {"(2, 4)", "(\\frac{4}{2}, 2^2)", 1},
    /* sets and several answers */
    {"\\{1,2\\}", "\\{2,1\\}", 1}, {"\\{1,2\\}", "(1,2)", 0}, {"\\{1,2\\}", "\\{1,3\\}", 0},
    {"\\{1,2\\}", "\\{1,2,3\\}", 0}, {"\\{1,2\\}", "1, 2", 1}, {"1, 2", "2, 1", 1}, {"1,2,3", "3,2,1", 1},
    {"\\{1,1,2\\}", "\\{1,2,2\\}", 0}, {"\\{\\}", "\\emptyset", 1}, {"\\emptyset", "\\{0\\}", 0},
    {"\\lbrace 3, 4\\rbrace", "\\{4, 3\\}", 1}, {"{1, 2}", "\\{2, 1\\}", 1}, {"3 or 4", "4, 3", 1},
    {"3 and 4", "3, 4", 1}, {"x = 3 or x = 4", "3, 4", 1}, {"\\{1,2\\}", "\\{1\\}", 0}, {"\\{5\\}", "5", 0},
    /* factorials, absolute values, logarithms, powers of functions */
    {"5!", "120", 1}, {"0!", "1", 1}, {"(2+1)!", "6", 1}, {"5!", "5", 0}, {"30!", "265252859812191058636308480000000", 1},
    {"|-3|", "3", 1}, {"|x|", "|x|", 1}, {"\\left| -\\frac{1}{2} \\right|", "0.5", 1}, {"\\lvert -2 \\rvert", "2", 1},
    {"\\log_2 8", "3", 1}, {"\\log_{10} 1000", "3", 1}, {"\\log_2 8", "8", 0}, {"\\cos^2 x + \\sin^2 x", "1", 1},
    {"\\sin^2 x", "\\sin x", 0}, {"\\sin(\\pi/6)", "1/2", 1},
    /* inequalities in one variable are intervals */
    {"x > 3", "(3, \\infty)", 1}, {"x \\ge 3", "[3, \\infty)", 1}, {"x \\geq 3", "(3, \\infty)", 0},
    {"3 < x", "(3,\\infty)", 1}, {"x < 3", "(-\\infty, 3)", 1}, {"x \\le \\frac{1}{2}", "(-\\infty, 0.5]", 1},
    {"-2 \\le x \\le 3", "[-2, 3]", 1}, {"-2 < x \\le 3", "(-2, 3]", 1}, {"3 \\ge x > -2", "(-2, 3]", 1},
    {"-2 < x < 3", "[-2, 3]", 0}, {"x < 1 \\text{ or } x > 2", "(-\\infty,1)\\cup(2,\\infty)", 1},
    {"x > 3", "x < 3", 0}, {"1 < 2", "(1, 2)", 0}, {"x > y", "(y, \\infty)", 0}, {"x \\le 3", "3", 0},
    /* plus-minus is two answers */
    {"\\pm 2", "2, -2", 1}, {"x = \\pm 3", "\\{-3, 3\\}", 1}, {"1 \\pm \\sqrt{2}", "1-\\sqrt{2}, 1+\\sqrt{2}", 1},
    {"\\pm 2", "2", 0}, {"\\mp 1", "1, -1", 1}, {"\\pm 2", "\\pm 2", 1}, {"\\pm 2 \\pm 3", "2", 0},
    /* text answers */
    {"Monday", "monday", 1}, {"Monday", "Tuesday", 0}, {"\\text{Monday}", "Monday", 1}, {"(B)", "(B)", 1},
    {"\\textbf{(B)}", "(b)", 1}, {"yes", "no", 0}, {"blue", "5", 0}, {"x+1", "x+1", 1}, {"x + 1", "x+1", 1},
    {"x+1", "x+2", 0}, {"\\le 3", "\\le 3", 1}, {"\\alpha", "\\beta", 0},
    /* expressions with variables: equal as functions */
    {"2x+1", "1+2x", 1}, {"(x+1)^2", "x^2+2x+1", 1}, {"x^2", "2x", 0}, {"\\frac{x}{2}", "0.5x", 1},
    {"x", "y", 0}, {"A", "B", 0}, {"(A)", "A", 1}, {"\\sin x", "\\sin(x)", 1}, {"\\cos(0)", "1", 1},
    {"\\ln(e)", "1", 1}, {"2\\theta", "\\theta+\\theta", 1}, {"3+4i", "4i+3", 1}, {"x-x", "0", 1},
    {"Monday", "Dynamo", 0}, {"ab", "ba", 0}, {"y=2x+1", "2x+1", 1}, {"y=2x+1", "2x-1", 0},
    {"\\frac{1}{x}", "x^{-1}", 1}, {"\\sqrt{x^2}", "x", 1}, {"x(x+1)", "x^2+x", 1}, {"2x", "2y", 0},
    {"(x, 2x)", "(x, x+x)", 1}, {"\\alpha+\\beta", "\\beta+\\alpha", 1}, {"\\alpha", "\\beta", 0},
    /* emptiness and garbage: never equal, never a crash */
    {"", "", 0}, {"", "0", 0}, {"   ", "0", 0}, {"$", "$", 0}, {"{", "{", 1}, {"}", "{", 0},
    {"\\frac{1}", "0.5", 0}, {"\\frac{}{}", "1", 0}, {"((((1", "1", 0}, {"1)))", "1", 0}, {"--1", "1", 1},
    {"+-1", "-1", 1}, {"1..2", "1.2", 0}, {"\\sqrt", "1", 0}, {"^2", "2", 0}, {"2^", "2", 0},
    {"\xff\xfe", "\xff\xfe", 1}, {"\xff", "1", 0}, {"1e99999", "1e99999", 1}, {"1e99999", "1e99998", 0},
    /* the demo path */
    {"80", "80.", 1}, {"68", "80", 0}, {"100", "1000", 0}, {"-80", "80", 0}, {"8 0", "80", 0},
};

Test(equal, table) {
    for (size_t i = 0; i < N(equal_cases); i++) {
        const equal_case *c = &equal_cases[i];
        char why[128], why2[128];
        int got = reward_math_equal(c->a, c->b, 1e-6, why, sizeof why);
        int back = reward_math_equal(c->b, c->a, 1e-6, why2, sizeof why2);
        cr_expect_eq(got, c->equal, "equal case %zu: '%s' vs '%s' gave %d (%s), want %d", i, c->a, c->b, got,
                     why, c->equal);
        cr_expect_eq(back, got, "equal case %zu is not symmetric: '%s' vs '%s' (%s / %s)", i, c->a, c->b, why,
                     why2);
    }
}

/* ------------------------------------------------ the kinds of issue 14 */

/* Each kind with right and wrong pairs; both argument orders must agree. */
static void expect_pairs(const char *kind, const equal_case *cases, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char why[128];
        int got = reward_math_equal(cases[i].a, cases[i].b, 1e-6, why, sizeof why);
        int back = reward_math_equal(cases[i].b, cases[i].a, 1e-6, NULL, 0);
        cr_expect_eq(got, cases[i].equal, "%s %zu: '%s' vs '%s' gave %d (%s)", kind, i, cases[i].a, cases[i].b, got,
                     why);
        cr_expect_eq(back, got, "%s %zu: not symmetric: '%s' vs '%s'", kind, i, cases[i].a, cases[i].b);
    }
}

Test(kinds, european_numbers) {
    static const equal_case c[] = {
        {"3,5", "3.5", 1},        {"2{,}75", "\\frac{11}{4}", 1}, {"0,125", "1/8", 1},   {"-2,5", "-2.5", 1},
        {"10 000", "10000", 1},   {"1 234 567", "1234567", 1},  {"25\\,000", "25000", 1}, {"25\\ 000", "25000", 1},
        {"25\xe2\x80\x89" "000", "25000", 1}, {"1\\!000\\!000", "10^6", 1}, {"1 234,5", "1234.5", 1},
        {"1.234,5", "1234.5", 1}, {"4{,}500", "4500", 1},
        {"100 000", "100000", 1}, {"123 456 789", "123456789", 1},
        {"211 211", "211211", 0}, {"211 211", "211", 0}, {"97+37=134 134+64=198 198+13=211 211", "211", 0},
        {"3,5", "3.6", 0},        {"3,5", "35", 0},             {"10 00", "1000", 0},    {"2 5000", "25000", 0},
        {"0,125", "0.12", 0},     {"2{,}75", "2.57", 0},        {"8 0", "80", 0},        {"3,5", "(3,5)", 0},
        {"3, 5", "3.5", 0},       {"2 100/3", "2100/3", 0},     {"-2,5", "2.5", 0},      {"3,0", "3", 0},
    };
    expect_pairs("european", c, N(c));
}

Test(kinds, percent_words) {
    static const equal_case c[] = {
        {"50 percent", "50\\%", 1}, {"50 pct", "0.5", 1}, {"12.5 per cent", "12.5\\%", 1},
        {"30\\text{ percent}", "30\\%", 1}, {"50 percent", "5\\%", 0}, {"49 pct", "50\\%", 0},
        {"12 per cent", "12.5\\%", 0}, {"3\\%", "0.3", 0},
    };
    expect_pairs("percent", c, N(c));
}

Test(kinds, relations) {
    static const equal_case c[] = {
        {"x \\neq 3", "x != 3", 1}, {"x \xe2\x89\xa0 3", "x \\ne 3", 1}, {"x < 1", "-x > -1", 1},
        {"x \\le 2", "-2x \\ge -4", 1}, {"x > -3", "2x + 6 > 0", 1}, {"2x+4y-3=0", "y=-x/2+3/4", 1},
        {"2x+4y-3=0", "4x+8y=6", 1}, {"y = 2x + 1", "2x - y + 1 = 0", 1}, {"x^2 + y^2 = 1", "2x^2 + 2y^2 - 2 = 0", 1},
        {"x \\ne 3", "3 \\ne x", 1}, {"3x + 6 = 0", "x = -2", 1},
        {"x \\neq 3", "x = 3", 0}, {"x \\neq 3", "x != 4", 0}, {"x < 1", "-x < -1", 0}, {"x < 1", "x \\le 1", 0},
        {"x \\le 2", "-2x > -4", 0}, {"2x+4y-3=0", "2x+4y+3=0", 0}, {"y = 2x + 1", "2y = 2x + 1", 0},
        {"x^2 + y^2 = 1", "x + y = 1", 0}, {"x = 2", "x^2 = 4", 0}, {"x^2 - 4 = 0", "x = 2", 0},
        {"x = x + 1", "y = y + 2", 0}, {"y = 2x", "x = 2y", 0}, {"5!=120", "5 \\ne 120", 0},
    };
    expect_pairs("relations", c, N(c));
}

Test(kinds, chains_and_labels) {
    static const equal_case c[] = {
        {"x = \\frac{6}{2} = 3", "3", 1}, {"4 \\cdot 3 = 12", "12", 1}, {"a = b = 7", "7", 1}, {"5!=120", "120", 1},
        {"(p,q)=(3,2)", "(3,2)", 1}, {"S:T = 7:32", "7:32", 1}, {"|AB| = 1", "1", 1}, {"\\angle ABC = 30^\\circ", "30", 1},
        {"P(A) = \\frac{1}{3}", "\\frac{1}{3}", 1}, {"f(2) = 9", "9", 1}, {"a_{5} = 17", "17", 1}, {"m + n = 10", "10", 1},
        {"(x, y) = (1, 2) \\text{ or } (2, 1)", "(2, 1), (1, 2)", 1}, {"a=2, b=3", "(2,3)", 1},
        {"a=2, b=3", "(3,2)", 0}, {"a=2, b=3", "[2,3]", 0}, {"2, 3", "(2,3)", 0}, {"a=2, b=3", "(2,3,4)", 0},
        {"x = \\frac{6}{2} = 4", "3", 0}, {"4 \\cdot 3 = 13", "12", 0}, {"a = 7 = 8", "7", 0}, {"3 + 4 = 7", "3", 0},
        {"(p,q)=(3,2)", "(2,3)", 0}, {"S:T = 7:32", "32:7", 0}, {"|AB| = 1", "2", 0}, {"x^2 = 4", "4", 0},
        {"2x = 4", "4", 0}, {"x + 2y = 5", "5", 0},
    };
    expect_pairs("chains/labels", c, N(c));
}

Test(kinds, symbolic) {
    static const equal_case c[] = {
        {"\\tan^2 y + 1", "\\sec^2 y", 1}, {"\\sin 2x", "2\\sin x\\cos x", 1}, {"\\cos 2x", "1 - 2\\sin^2 x", 1},
        {"\\cot x", "\\frac{\\cos x}{\\sin x}", 1}, {"\\csc^2 x - \\cot^2 x", "1", 1}, {"\\sqrt{x}", "x^{1/2}", 1},
        {"\\sqrt[3]{x^2}", "x^{2/3}", 1}, {"(a+b)^2", "a^2+2ab+b^2", 1}, {"x^2y + xy^2", "xy(x+y)", 1},
        {"\\frac{a}{b} + \\frac{c}{d}", "\\frac{ad + bc}{bd}", 1}, {"\\ln(xy)", "\\ln x + \\ln y", 1},
        {"sin x", "\\sin x", 1}, {"\\frac{1}{7}", "0.1428571", 1},
        {"\\tan^2 y + 1", "\\csc^2 y", 0}, {"\\sin 2x", "2\\sin x", 0}, {"\\sqrt{x}", "x^{1/3}", 0},
        {"(a+b)^2", "a^2+b^2", 0}, {"x^2y + xy^2", "xy(x-y)", 0}, {"\\frac{1}{3}", "0.333", 0},
        {"\\frac{1}{3}", "0.3333", 0}, {"\\pi", "3.14", 0}, {"2ab", "a^2b", 0}, {"ab", "ba", 0}, {"(IV)", "(VI)", 0},
        {"it is 5", "5", 0}, {"\\sin(x+y)", "\\sin x + \\sin y", 0},
    };
    expect_pairs("symbolic", c, N(c));
}

Test(kinds, matrices) {
    static const equal_case c[] = {
        {"\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}", 1},
        {"\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\left[\\begin{array}{cc} 1 & 2 \\\\ 3 & 4 \\\\ \\end{array}\\right]", 1},
        {"\\begin{pmatrix} \\frac12 \\\\ -1 \\end{pmatrix}", "\\begin{pmatrix} 0.5 \\\\ -1 \\end{pmatrix}", 1},
        {"\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{pmatrix} 1 & 3 \\\\ 2 & 4 \\end{pmatrix}", 0},
        {"\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{pmatrix} 1 & 2 & 3 & 4 \\end{pmatrix}", 0},
        {"\\begin{pmatrix} 3 \\\\ -1 \\end{pmatrix}", "\\begin{pmatrix} 3 & -1 \\end{pmatrix}", 0},
        {"\\begin{pmatrix} 1 & 2 \\end{pmatrix}", "(1, 2)", 0},
        {"\\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix}", "1", 0},
    };
    expect_pairs("matrices", c, N(c));
}

Test(kinds, several_answers) {
    static const equal_case c[] = {
        {"\\boxed{2} and \\boxed{3}", "2, 3", 1}, {"5 \\quad 3", "3, 5", 1}, {"x = 1, \\quad y = 2", "1, 2", 1},
        {"\\{1\\} \\cup \\{2\\}", "\\{2, 1\\}", 1}, {"(1, 2), (3, 4)", "(3, 4), (1, 2)", 1},
        {"x = 1 \\text{ or } x = -2", "-2, 1", 1},
        {"\\boxed{2} and \\boxed{4}", "2, 3", 0}, {"5 \\quad 3", "5", 0}, {"\\{1\\} \\cup \\{2\\}", "\\{1, 3\\}", 0},
        {"(1, 2), (3, 4)", "(2, 1), (4, 3)", 0}, {"\\{1\\} \\cup \\{2\\}", "\\{1\\}", 0},
    };
    expect_pairs("several", c, N(c));
}

Test(kinds, reals_set_builder_and_bare_relations) {
    static const equal_case c[] = {
        {"\\mathbb{R}", "(-\\infty, \\infty)", 1}, {"\xe2\x84\x9d", "(-\\infty,\\infty)", 1},
        {"x \\in \\mathbb{R}", "(-\\infty, \\infty)", 1}, {"\\{x \\mid x > 1\\}", "(1, \\infty)", 1},
        {"\\{x | x \\le 2\\}", "x \\le 2", 1}, {"\\{x : -1 < x < 1\\}", "(-1, 1)", 1}, {"\\approx 3.14", "3.14", 1},
        {"= 5", "5", 1},
        {"\\mathbb{R}", "(0, \\infty)", 0}, {"\\{x \\mid x > 1\\}", "[1, \\infty)", 0},
        {"\\{x | x \\le 2\\}", "x < 2", 0}, {"\\{x : -1 < x < 1\\}", "(-1, 2)", 0}, {"\\approx 3.14", "3.15", 0},
        {"\\{1 | 2\\}", "(2, \\infty)", 0},
    };
    expect_pairs("reals/set-builder", c, N(c));
}

Test(kinds, choice_letters) {
    static const equal_case c[] = {
        {"C", "for sure C, it can't be A or B", 1}, {"(C)", "the third one, C", 1}, {"B", "(B)", 1},
        {"C", "for sure D, it can't be A or C", 0}, {"C", "A, not C", 0}, {"(C)", "(D)", 0}, {"B", "none of them", 0},
    };
    expect_pairs("choices", c, N(c));
}

Test(equal, literal_only_rejects_restated_question) {
    cr_expect_eq(reward_math_equal_ex("23+45+12", "80", 1e-6, MATH_LITERAL_ONLY, NULL, 0), 0);
    cr_expect_eq(reward_math_equal_ex("23+45+12", "80", 1e-6, 0, NULL, 0), 1);
    cr_expect_eq(reward_math_equal_ex("80", "80", 1e-6, MATH_LITERAL_ONLY, NULL, 0), 1);
    cr_expect_eq(reward_math_equal_ex("\\frac{1}{2}", "0.5", 1e-6, MATH_LITERAL_ONLY, NULL, 0), 1);
    cr_expect_eq(reward_math_equal_ex("1.5\\times10^{3}", "1500", 1e-6, MATH_LITERAL_ONLY, NULL, 0), 1);
    cr_expect_eq(reward_math_equal_ex("2\\sqrt{3}", "\\sqrt{12}", 1e-6, MATH_LITERAL_ONLY, NULL, 0), 1);
    cr_expect_eq(reward_math_equal_ex("4*20", "80", 1e-6, MATH_LITERAL_ONLY, NULL, 0), 0);
    cr_expect_eq(reward_math_equal_ex("-5", "-5", 1e-6, MATH_LITERAL_ONLY, NULL, 0), 1);
}

Test(equal, tolerance_is_relative) {
    cr_expect_eq(reward_math_equal("\\sqrt{2}", "1.41", 0.01, NULL, 0), 1);
    cr_expect_eq(reward_math_equal("\\sqrt{2}", "1.41", 1e-6, NULL, 0), 0);
    cr_expect_eq(reward_math_equal("1000000\\pi", "3141592.6536", 1e-9, NULL, 0), 1);
    /* terminating rationals ignore the tolerance */
    cr_expect_eq(reward_math_equal("1/4", "0.26", 0.1, NULL, 0), 0);
    /* a decimal can only approximate 1/3: it is held to the tolerance */
    cr_expect_eq(reward_math_equal("1/3", "0.33", 0.1, NULL, 0), 1);
    cr_expect_eq(reward_math_equal("1/3", "0.33", 1e-6, NULL, 0), 0);
}

Test(equal, why_says_what_differs) {
    char why[128];
    reward_math_equal("3/4", "0.75", 1e-6, why, sizeof why);
    cr_expect_str_eq(why, "3/4 == 3/4");
    reward_math_equal("(1,2)", "\\{1,2\\}", 1e-6, why, sizeof why);
    cr_expect_str_eq(why, "tuple vs set");
    reward_math_equal("x=3", "x=4", 1e-6, why, sizeof why);
    cr_expect_str_eq(why, "3 != 4");
}

/* ------------------------------------------------------ exact rationals */

typedef struct value_case {
    const char *text;
    int ok, exact;
    long long num, den; /* when exact */
} value_case;

static const value_case value_cases[] = {
    {"0.125", 1, 1, 1, 8},      {"-2/6", 1, 1, -1, 3},     {"1e-3", 1, 1, 1, 1000}, {"12.5%", 1, 1, 1, 8},
    {"2^{-3}", 1, 1, 1, 8},     {"\\sqrt{9/4}", 1, 1, 3, 2}, {"\\sqrt{2}", 1, 0, 0, 0}, {"\\pi", 1, 0, 0, 0},
    {"\\sin x", 1, 0, 0, 0}, {"xy", 0, 0, 0, 0},     {"it is -12", 0, 0, 0, 0},          {"1/(2-2)", 0, 0, 0, 0},   {"3 4", 0, 0, 0, 0},     {"1\\frac{2}{3}", 1, 1, 5, 3},
    {"(((((7)))))", 1, 1, 7, 1}, {"10^{38}/10^{37}", 1, 1, 10, 1},
};

Test(value, exact_rationals) {
    for (size_t i = 0; i < N(value_cases); i++) {
        const value_case *c = &value_cases[i];
        math_num v;
        int rc = math_eval(c->text, strlen(c->text), 0, &v, NULL);
        cr_expect_eq(rc == 0, c->ok, "value case %zu (%s): rc %d", i, c->text, rc);
        if (rc || !c->ok) continue;
        cr_expect_eq(v.exact, c->exact, "value case %zu (%s): exact %d", i, c->text, v.exact);
        if (c->exact)
            cr_expect(v.num == c->num && v.den == c->den, "value case %zu (%s): %lld/%lld", i, c->text,
                      (long long)v.num, (long long)v.den);
    }
}

Test(value, overflow_goes_inexact_not_wrong) {
    math_num v;
    /* 2^127 does not fit: the value must stay right as a double */
    cr_assert_eq(math_eval("2^{127}", 7, 0, &v, NULL), 0);
    cr_expect_eq(v.exact, 0);
    cr_expect_float_eq(v.approx, 1.7014118346046923e38, 1e24);
    cr_assert_eq(math_eval("2^{126}*2-2^{126}*2", 19, 0, &v, NULL), 0);
    cr_expect_float_eq(v.approx, 0.0, 1e-9);
}

Test(value, deep_nesting_is_refused) {
    char deep[3 * REWARD_MAX_DEPTH + 8];
    size_t n = 0;
    for (int i = 0; i < REWARD_MAX_DEPTH + 2; i++) deep[n++] = '(';
    deep[n++] = '1';
    for (int i = 0; i < REWARD_MAX_DEPTH + 2; i++) deep[n++] = ')';
    math_num v;
    cr_expect_eq(math_eval(deep, n, 0, &v, NULL), -1);
    char cmds[8 * REWARD_MAX_DEPTH + 8] = "";
    for (int i = 0; i < REWARD_MAX_DEPTH + 2; i++) strcat(cmds, "\\sqrt");
    strcat(cmds, "4");
    cr_expect_eq(math_eval(cmds, strlen(cmds), 0, &v, NULL), -1, "nested commands count against the depth");
    cr_expect_eq(math_eval("\\sqrt\\sqrt{16}", 14, 0, &v, NULL), 0);
    cr_expect(v.exact && v.num == 2 && v.den == 1);
}

/* --------------------------------------------------------------- bounds */

/* Pathological megabyte responses: every rule, the normaliser and the
 * comparison must stay linear and answer "not equal" rather than hang. */
Test(bounds, megabyte_inputs_stay_fast) {
    static const char *units[] = {"\\boxed{", "{", "(", "$", "<answer>", "\\frac{", "9", "#### ", "answer is ",
                                  "\\[", "1,000,", "\xff", "\\sqrt[", "^{"};
    size_t n = 1 << 20;
    char *s = malloc(n + 1);
    char out[REWARD_ANSWER_MAX + 1];
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        size_t k = strlen(units[u]);
        for (size_t i = 0; i < n; i++) s[i] = units[u][i % k];
        s[n] = 0;
        double t0 = cpu_seconds();
        const char *rule;
        int len = reward_math_extract(s, n, DEFAULT_RULES, out, sizeof out, &rule);
        cr_expect(strlen(out) < sizeof out, "unit %zu: length %d", u, len);
        reward_math_equal(out, "1", 1e-6, NULL, 0);
        reward_math_equal(s, s, 1e-6, NULL, 0); /* longer than REWARD_ANSWER_MAX: refused quickly */
        double dt = cpu_seconds() - t0;
        cr_expect_lt(dt, 0.5, "unit %zu ('%s') took %.3f s", u, units[u], dt);
    }
    free(s);
}

Test(canonical, same_number_same_key) {
    static const char *groups[][4] = {
        {"0.5", "\\frac{1}{2}", "50\\%", "2/4"},
        {"80", "80.0", "+80", "x = 80"},
        {"\\sqrt{2}", "2^{1/2}", "\\sqrt2", "\\frac{2}{\\sqrt{2}}"},
        {"Monday", "\\text{monday}", "MONDAY", " Monday. "},
    };
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        char first[64], key[64];
        cr_assert_gt(reward_math_canonical(groups[g][0], first, sizeof first), 0);
        for (int i = 1; i < 4; i++) {
            reward_math_canonical(groups[g][i], key, sizeof key);
            cr_expect_str_eq(key, first, "group %zu: '%s' vs '%s'", g, groups[g][i], groups[g][0]);
        }
    }
    char a[64], b[64];
    reward_math_canonical("1/2", a, sizeof a);
    reward_math_canonical("2", b, sizeof b);
    cr_expect_str_neq(a, b);
    cr_expect_eq(reward_math_canonical("", a, sizeof a), 0);
    cr_expect_str_eq(a, "");
}

/* The progress line: rate and ETA count only this process's steps after a
 * resume; on a terminal the line is cut to its width. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

static char out_buf[4096];

/* The text one update prints. */
static const char *one_update(core_progress *p, long done, const char *metrics) {
    memset(out_buf, 0, sizeof out_buf);
    p->out = fmemopen(out_buf, sizeof out_buf - 1, "w");
    core_progress_update(p, done, metrics);
    fclose(p->out);
    return out_buf;
}

Test(progress, rate_after_resume_counts_only_new_steps) {
    core_progress p;
    core_progress_start_at(&p, "grpo step", 1000, 2000, stderr);
    usleep(200 * 1000);
    const char *line = one_update(&p, 1002, "");
    long done, total;
    double rate;
    cr_assert_eq(sscanf(line, "grpo step %ld/%ld %lf/s", &done, &total, &rate), 3, "%s", line);
    cr_assert(done == 1002 && total == 2000, "%s", line);
    cr_assert(rate < 20, "2 steps in 0.2 s reported as %.2f/s: %s", rate, line);
}

Test(progress, terminal_line_fits_its_width) {
    core_progress p;
    core_progress_start(&p, "grpo step", 100, stderr);
    p.is_tty = 1;
    p.width = 80;
    char metrics[300];
    memset(metrics, 'x', sizeof metrics - 1);
    metrics[sizeof metrics - 1] = 0;
    const char *text = strstr(one_update(&p, 100, metrics), "grpo step"); /* after \r and clear-line */
    cr_assert_not_null(text);
    cr_assert(strlen(text) <= 80, "%zu columns", strlen(text));
}

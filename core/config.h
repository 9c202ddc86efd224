/*
 * The run configuration: INI (inih), one section per folder.  The keys,
 * their types, defaults, ranges and docs live in config_keys.def; this
 * header turns that table into `struct core_config`.
 */
#ifndef GRPO_CORE_CONFIG_H
#define GRPO_CORE_CONFIG_H

#include <stdio.h>

#define CORE_STR_MAX 512

#define SECTION(s) struct {
#define END_SECTION(s) } s;
#define INT(s, n, def, lo, hi, doc) int n;
#define REAL(s, n, def, lo, hi, doc) double n;
#define BOOL(s, n, def, doc) int n;
#define STR(s, n, def, doc) char n[CORE_STR_MAX];
#define CHOICE(s, n, def, choices, doc) char n[64];
typedef struct core_config {
#include "config_keys.def"
} core_config;
#undef SECTION
#undef END_SECTION
#undef INT
#undef REAL
#undef BOOL
#undef STR
#undef CHOICE

struct core_error;

/* All keys at their defaults. */
void core_config_defaults(core_config *cfg);
/* Read an INI file over the current values.  Unknown section or key, wrong
 * type or out-of-range value: CORE_EINPUT naming file, line and key. */
int core_config_load(core_config *cfg, const char *path, struct core_error *err);
/* Apply one "section.key=value" override with the same checks. */
int core_config_set(core_config *cfg, const char *assignment, struct core_error *err);
/* 1 when section.name holds its default value (for "a setting the chosen
 * mode does not read is an error"; an unknown key counts as default). */
int core_config_is_default(const core_config *cfg, const char *section, const char *name);
/* The resolved config as INI text (every key); loading it back gives the
 * same config.  Returns a malloc'd string. */
char *core_config_to_ini(const core_config *cfg);
/* The reference: every key with type, default, range and doc. */
void core_config_print_reference(FILE *out);
/* Split a comma-separated list in place-free fashion: returns the number of
 * items copied into items[max][len] (whitespace trimmed). */
int core_split_list(const char *text, char items[][64], int max);

#endif

#!/usr/bin/env bash
# A short bounded fuzz run as part of `make test` (GRPO_FUZZ_SECONDS, default 20).
exec "$(dirname "$0")/run.sh" "${GRPO_FUZZ_SECONDS:-20}"

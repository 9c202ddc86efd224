#!/usr/bin/env bash
# `make run` installs only what the demo needs: no test-only packages (torch,
# transformers, clang, Criterion, Chromium) and no test venv; `make test`
# installs them.  Checked on make's dry run (nothing is installed here).
set -u
cd "$(dirname "$0")/../.."
command -v make >/dev/null || { echo "no make"; exit 77; }
run=$(make -n run 2>&1) || { echo "make -n run failed: $run"; exit 1; }
for pkg in python3-torch clang libcriterion-dev chromium transformers "pip install"; do
    grep -q -- "$pkg" <<<"$run" && { echo "make run would install $pkg"; exit 1; }
done
grep -q "libsqlite3-dev" <<<"$run" || { echo "make run does not install what the build needs"; exit 1; }
test=$(make -n test 2>&1) || { echo "make -n test failed"; exit 1; }
for pkg in python3-torch libcriterion-dev transformers; do
    grep -q -- "$pkg" <<<"$test" || { echo "make test would not install $pkg"; exit 1; }
done
echo "make run: build and demo packages only; make test: the test packages too"

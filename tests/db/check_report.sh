#!/usr/bin/env bash
# `grpo report --sweep`: a toy sweep (2 arms x 2 seeds) rendered as one
# self-contained HTML page, screenshotted by headless Chromium; the picture
# is not blank, every arm's name is on the page and every arm's colour is
# drawn in the charts (more pixels than its legend swatches hold).  The PNG
# is kept in build/test-artifacts/report-sweep.png.
ROOT=$PWD
ART=$ROOT/build/test-artifacts
PYTHON=${PYTHON:-.venv/bin/python3}
case $PYTHON in /*) ;; *) PYTHON=$ROOT/$PYTHON ;; esac
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || { echo "chromium is not installed (make deps installs it)"; exit 77; }
source "$ROOT/tests/learner/toy.sh"
mkdir -p "$ART"

"$GRPO" ablate "$CONFIG" "${TOY[@]}" --set db.path=rep.db --set run.name=rep --set run.steps=10 \
    --set eval.every=5 --set eval.items=8 --seeds 2 --vary learner.lr=3e-2,3e-3 >ablate.log 2>&1 ||
    { cat ablate.log; exit 1; }
sweep=$(sql rep.db "SELECT id FROM sweeps")
"$GRPO" report rep.db --sweep "$sweep" --baseline 1 --out rep.html >/dev/null || exit 1

# the page: self-contained, every arm named, a chart per metric, the table
grep -qiE "<script|src=|href=|@import|url\(" rep.html && { echo "the page loads something"; exit 1; }
while IFS= read -r name; do
    grep -qF "$name" rep.html || { echo "arm '$name' not on the page"; exit 1; }
done < <(sql rep.db "SELECT name FROM sweep_arms")
for title in "held-out pass@1" "mean reward (train)" "reward part: format" "KL to the reference" \
             "clip fraction" "step time" "Final held-out scores" "seconds per step" "nats per token"; do
    grep -qF "$title" rep.html || { echo "no '$title' on the page"; exit 1; }
done
charts=$(grep -o "<figure class='chart'>" rep.html | wc -l)
[ "$charts" -ge 12 ] || { echo "$charts charts"; exit 1; }
grep -q "<polygon" rep.html || { echo "no band over seeds"; exit 1; }
grep -q "p = " rep.html || { echo "no significance test in the table"; exit 1; }

"$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --screenshot="$WORK/rep.png" \
    --window-size=1400,2000 "file://$WORK/rep.html" >chromium.log 2>&1 || { cat chromium.log; exit 1; }
cp rep.png "$ART/report-sweep.png"
"$PYTHON" - "$WORK/rep.png" "$charts" <<'PY' || exit 1
import sys
from PIL import Image
import numpy as np

img = np.asarray(Image.open(sys.argv[1]).convert("RGB")).astype(int)
charts = int(sys.argv[2])
h, w, _ = img.shape
assert (w, h) == (1400, 2000), f"screenshot is {w}x{h}"
ink = (np.abs(img - 255).sum(axis=2) > 30).mean()
print(f"screenshot {w}x{h}: {100 * ink:.1f}% of pixels not white")
assert ink > 0.05, "the screenshot is (nearly) blank"
# The arms' colours (report.c's palette).  Lines are thin: count the pixels
# of an arm's colour with a 4-neighbour of another colour.  Of a 12x12 legend
# swatch (one per chart, the arm table, the final table) only the 44 edge
# pixels count, so the lines must add well beyond that.
swatch_edges = 44 * (charts + 2)
for name, rgb in (("arm 0", (0x1F, 0x77, 0xB4)), ("arm 1", (0xD6, 0x27, 0x28))):
    m = np.abs(img - np.array(rgb)).sum(axis=2) < 60
    inner = m.copy()
    inner[1:-1, 1:-1] = m[1:-1, 1:-1] & m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2] & m[1:-1, 2:]
    thin = int((m & ~inner).sum())
    print(f"{name}: {thin} line pixels of its colour (legend swatch edges at most {swatch_edges})")
    assert thin > swatch_edges + 1000, f"{name} is not drawn in the charts"
PY
echo "kept $ART/report-sweep.png"

# runs as arms, and bad arguments
"$GRPO" report rep.db --runs 1,2 --out runs.html >/dev/null || exit 1
for id in 1 2; do
    grep -qF "run $id $(sql rep.db "SELECT name FROM runs WHERE id = $id")" runs.html || { echo "--runs: run $id not named"; exit 1; }
done
if "$GRPO" report rep.db --sweep 99 --out bad.html 2>err.log; then echo "--sweep 99 accepted"; exit 1; fi
grep -q "no sweep with id 99" err.log || { cat err.log; exit 1; }
[ ! -e bad.html ] || { echo "a failed report left a page"; exit 1; }
if "$GRPO" report rep.db --sweep "$sweep" --baseline 5 --out bad.html 2>err.log; then echo "--baseline 5 accepted"; exit 1; fi
grep -q "baseline 5" err.log || { cat err.log; exit 1; }
echo "report checked in headless chromium"

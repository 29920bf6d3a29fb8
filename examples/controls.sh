#!/usr/bin/env bash
# The README's control pictures (192 px, 150 iterations each; about 10 minutes on 2 idle CPU cores).
# Run from anywhere:  bash examples/controls.sh [OUT_DIR] [--overwrite]
# OUT_DIR defaults to out/controls (created); the committed pictures are in examples/controls/.
# STYLIZE names the command to run (default: stylize); SIZE and ITERATIONS override 192 and 150.
set -euo pipefail
OUT=out/controls
OVERWRITE=
for arg in "$@"; do
    case "$arg" in
        --overwrite) OVERWRITE=--overwrite ;;
        -*) echo "usage: bash examples/controls.sh [OUT_DIR] [--overwrite]" >&2; exit 2 ;;
        *) OUT=$arg ;;
    esac
done
E=$(dirname "$0")
O=$OUT
read -r -a STYLIZE_CMD <<< "${STYLIZE:-stylize}"
run() { "${STYLIZE_CMD[@]}" "$@" --size "${SIZE:-192}" --iterations "${ITERATIONS:-150}" --quiet $OVERWRITE; echo "done: stylize $*" >&2; }
if [ -z "$OVERWRITE" ]; then
    for name in plain blend_1_1 color_luminance color_histogram color_swap regions tv style_scale_0.5 style_scale_2; do
        if [ -e "$O/$name.png" ]; then echo "Error: $O/$name.png already exists; pass --overwrite to replace it" >&2; exit 1; fi
    done
fi
mkdir -p "$O"
# the paper's method, for comparison
run $E/tubingen.jpg $E/starry_night.jpg -o $O/plain.png
# several styles
run $E/tubingen.jpg $E/starry_night.jpg $E/the_scream.jpg -o $O/blend_1_1.png --style-blend 1,1
# colour
run $E/tubingen.jpg $E/starry_night.jpg -o $O/color_luminance.png --color luminance
run $E/tubingen.jpg $E/starry_night.jpg -o $O/color_histogram.png --color histogram
run $E/tubingen.jpg $E/starry_night.jpg -o $O/color_swap.png --color swap
# regions: the sky in The Starry Night, the town in The Great Wave
run $E/tubingen.jpg $E/starry_night.jpg $E/great_wave.jpg -o $O/regions.png \
    --content-mask $E/tubingen_sky_mask.png --style-mask white --style-mask black
# smoothness
run $E/tubingen.jpg $E/starry_night.jpg -o $O/tv.png --tv-weight 1
# style scale
run $E/tubingen.jpg $E/starry_night.jpg -o $O/style_scale_0.5.png --style-scale 0.5
run $E/tubingen.jpg $E/starry_night.jpg -o $O/style_scale_2.png --style-scale 2

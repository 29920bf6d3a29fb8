#!/usr/bin/env bash
# The README's control examples (192 px, 150 iterations each; about 10 minutes on 2 idle CPU cores).
# Run from the repository's root: bash examples/controls.sh [--overwrite]
set -euo pipefail
cd "$(dirname "$0")/.."
E=examples
O=examples/controls
run() { stylize "$@" --size 192 --iterations 150 --quiet ${OVERWRITE:-}; echo "done: stylize $*" >&2; }
[ "${1:-}" = "--overwrite" ] && OVERWRITE=--overwrite
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

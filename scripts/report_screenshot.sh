#!/usr/bin/env bash
# Regenerates docs/usage-report.png: runs `cargo run --example report` (the local Mistral
# server, no key, nothing leaves the machine), then renders the usage report it writes
# with headless Chromium. Run by hand, not by CI.
#
#   scripts/report_screenshot.sh
#
# Needs Chromium (Debian: `apt-get install chromium`); with ImageMagick (`apt-get install
# imagemagick`) the shot is cut to the page's height and its colours reduced. WIDTH
# (default 1200) and HEIGHT (default 6000, enough for the example's page) set the window.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$repo/docs/usage-report.png}
width=${WIDTH:-1200}
height=${HEIGHT:-6000}
work=$repo/target/report-screenshot
mkdir -p "$work" "$(dirname "$out")"

browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
    echo "Chromium is needed: apt-get install chromium" >&2
    exit 1
fi

(cd "$repo" && LLM_TRACE_REPORT="$work/usage.html" cargo run -q -j 2 --example report)

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
    --user-data-dir="$profile" --window-size="$width,$height" \
    --screenshot="$work/full.png" "file://$work/usage.html" 2>/dev/null

# Cut the empty space below the page and reduce the colours, if ImageMagick is here (a
# `convert` that cannot is skipped).
for convert in magick convert /usr/bin/convert; do
    box=$("$convert" "$work/full.png" -format '%@' info: 2>/dev/null || true)
    if [[ $box =~ ^[0-9]+x([0-9]+)\+[0-9]+\+([0-9]+)$ ]]; then
        bottom=$((BASH_REMATCH[1] + BASH_REMATCH[2] + 32))
        if "$convert" "$work/full.png" -crop "${width}x${bottom}+0+0" +repage -colors 256 \
            "PNG8:$work/cut.png" 2>/dev/null && [ -s "$work/cut.png" ]; then
            mv "$work/cut.png" "$out"
            echo "wrote $out (${width}x${bottom})"
            exit 0
        fi
    fi
done
cp "$work/full.png" "$out"
echo "wrote $out (uncut: no ImageMagick)"

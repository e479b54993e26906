#!/usr/bin/env bash
# Takes the README's screenshots from the real binary under Xvfb, driven with xdotool:
#   packaging/screenshots.sh [BUILD_DIR]      -> docs/screenshots/*.png
# Needs xvfb, xdotool and imagemagick (apt-get install xvfb xdotool imagemagick).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
out=$root/docs/screenshots
mkdir -p "$out"
for tool in xvfb-run xdotool import; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install xvfb xdotool imagemagick" >&2; exit 1; }
done
export XDG_CONFIG_HOME=$(mktemp -d)  # fresh settings: the first-launch experience
xvfb-run -a -s "-screen 0 1400x900x24" bash -c "
  '$build/bin/latent-studio' & pid=\$!
  for i in \$(seq 60); do xdotool search --name 'Latent Studio' >/dev/null 2>&1 && break; sleep 0.5; done
  sleep 4
  win=\$(xdotool search --name 'Latent Studio' | head -1)
  xdotool windowmove \$win 0 0 windowsize \$win 1400 900
  sleep 1
  xdotool mousemove 300 80 click 1
  xdotool type --delay 20 'the party went with a bang'
  xdotool key shift+Return
  xdotool type --delay 20 'he drinks coffee every morning'
  xdotool key Return
  sleep 6
  import -window root '$out/reconstruct.png'
  xdotool mousemove 128 32 click 1; sleep 1; import -window root '$out/corpus.png'
  xdotool mousemove 192 32 click 1; sleep 1; import -window root '$out/model.png'
  kill \$pid
"
ls -l "$out"

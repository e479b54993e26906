#!/usr/bin/env bash
# Takes the README's screenshots from the real binary under Xvfb, driven with xdotool:
#   packaging/screenshots.sh [BUILD_DIR]      -> docs/screenshots/*.png
# Needs xvfb, xdotool and imagemagick (apt-get install xvfb xdotool imagemagick).
# Coordinates are those of a 1400x900 window with the default Qt style and fonts.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
out=$root/docs/screenshots
mkdir -p "$out"
for tool in xvfb-run xdotool import; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install xvfb xdotool imagemagick" >&2; exit 1; }
done
export XDG_CONFIG_HOME=$(mktemp -d) XDG_DATA_HOME=$(mktemp -d) XDG_CACHE_HOME=$(mktemp -d)  # fresh settings and map cache: the first-launch experience
xvfb-run -a -s "-screen 0 1400x900x24" bash -c "
  '$build/bin/latent-studio' & pid=\$!
  for i in \$(seq 60); do xdotool search --name 'Latent Studio' >/dev/null 2>&1 && break; sleep 0.5; done
  sleep 4
  win=\$(xdotool search --name 'Latent Studio' | head -1)
  xdotool windowmove \$win 0 0 windowsize \$win 1400 900
  sleep 1
  tab() { xdotool mousemove \$1 32 click 1; sleep 1; }
  # Reconstruct (the tab the studio opens on)
  xdotool mousemove 300 110 click 1
  xdotool type --delay 20 'the party went with a bang'
  xdotool key shift+Return
  xdotool type --delay 20 'he drinks coffee every morning'
  xdotool key Return
  sleep 6
  import -window root '$out/reconstruct.png'
  # Interpolate: Enter in sentence A runs it; the slider's point (t = 0.5) is decoded too
  tab 197; xdotool mousemove 600 64 click 1 key Return; sleep 5
  import -window root '$out/interpolate.png'
  # Generate: DDPM from t = 2000 to 0, played back
  tab 284; xdotool mousemove 143 237 click 1; sleep 25
  import -window root '$out/generate.png'
  # Latent map: the whole training corpus (46k sentences) by PCA, coloured by length, the
  # generation's samples at t = 0 drawn on it, a point hovered
  tab 365
  xdotool mousemove 145 92 click 1; sleep 0.5; xdotool key Down Return; sleep 0.5
  xdotool mousemove 213 64 click 1; sleep 150  # the pretrained encoder: about 2 minutes for 46k sentences
  xdotool mousemove 640 420; sleep 1; xdotool mousemove 642 421; sleep 1
  import -window root '$out/latent_map.png'
  # Directions: present -> past tense from six sentences each, a sentence moved along it
  tab 454
  xdotool mousemove 352 93 click 1; xdotool type --delay 10 'present'
  xdotool mousemove 352 184 click 1
  for s in 'the cat sleeps on the mat' 'she walks to school' 'he plays the piano' 'they eat bread' 'the dog barks at night' 'we sing a song'; do
    xdotool type --delay 10 \"\$s\"; xdotool key Return
  done
  xdotool mousemove 1046 93 click 1; xdotool type --delay 10 'past'
  xdotool mousemove 1046 184 click 1
  for s in 'the cat slept on the mat' 'she walked to school' 'he played the piano' 'they ate bread' 'the dog barked at night' 'we sang a song'; do
    xdotool type --delay 10 \"\$s\"; xdotool key Return
  done
  xdotool mousemove 585 344 click 1; xdotool type --delay 10 'tense'
  xdotool mousemove 960 344 click 1; sleep 3
  xdotool mousemove 700 421 click 1; xdotool type --delay 10 'the children play in the garden'; xdotool key Return; sleep 3
  xdotool mousemove 864 446 click 1; sleep 3
  xdotool mousemove 179 838 click 1; xdotool type --delay 10 'he walks to work'
  xdotool mousemove 498 838 click 1; xdotool type --delay 10 'he walked to work'
  xdotool mousemove 816 838 click 1; xdotool type --delay 10 'she sings a song'
  xdotool mousemove 1018 838 click 1; sleep 3
  import -window root '$out/directions.png'
  tab 529; import -window root '$out/corpus.png'
  tab 593; import -window root '$out/model.png'
  # Train: the tiny preset on the default corpus for a minute, live
  tab 26
  xdotool mousemove 306 304 click 1; sleep 0.5; xdotool type tiny; xdotool key Return; sleep 0.5
  # the settings column scrolls: wheel down to its Start button
  xdotool mousemove 40 500; for i in \$(seq 15); do xdotool click 5; done; sleep 0.5
  xdotool mousemove 84 831 click 1
  sleep 60
  import -window root '$out/train.png'
  kill \$pid
"
ls -l "$out"

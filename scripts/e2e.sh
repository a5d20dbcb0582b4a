#!/usr/bin/env bash
# End-to-end test in a real window under Xvfb: start the app on a model,
# paint a stroke with xdotool, drop a style image onto the window, press
# Random style; screenshot after each and assert the generated pane
# changed every time and the saved label map holds exact class ids.
set -euo pipefail
BIN=$(realpath "${1:-./spadepaint}")
cd "$(dirname "$0")/.."
OUT=${E2E_OUT:-$(mktemp -d)}
mkdir -p "$OUT"
export HOME="$OUT/home" LANG=en_US.UTF-8   # fresh app storage, no autosave from earlier runs
mkdir -p "$HOME"
gcc -O2 -o "$OUT/xdnd-drop" scripts/xdnd-drop.c -lX11
go build -o "$OUT/e2echeck" ./scripts/e2echeck

# A real SPADE checkpoint (the PyTorch reference's 256² VAE fixture), imported by the CLI.
"$BIN" import --generator model/testdata/parity/c256_batch_vae/netG.pth \
  --encoder model/testdata/parity/c256_batch_vae/netE.pth --out "$OUT/model.safetensors"

DISP=:$((100 + RANDOM % 400))
Xvfb "$DISP" -screen 0 1400x850x24 -nolisten tcp >"$OUT/xvfb.log" 2>&1 &
XVFB=$!
export DISPLAY=$DISP
APP=
cleanup() { [ -n "$APP" ] && kill "$APP" 2>/dev/null; kill "$XVFB" 2>/dev/null; true; }
trap cleanup EXIT

# Wait for the X server (poll, bounded).
for i in $(seq 100); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done

"$BIN" --model "$OUT/model.safetensors" >"$OUT/app.log" 2>&1 &
APP=$!
WIN=
for i in $(seq 300); do WIN=$(xdotool search --name '^spadepaint$' 2>/dev/null | head -1) && [ -n "$WIN" ] && break; sleep 0.1; done
[ -n "$WIN" ] || { echo "e2e: no window"; cat "$OUT/app.log"; exit 1; }

# A screenshot is taken once the screen has stopped changing (two
# consecutive shots agree): the render has landed and been drawn. Bounded.
settle() { # settle NAME: screenshot when two consecutive shots agree
  local prev="$OUT/.settle.png"
  import -window root "$prev"
  for i in $(seq 60); do
    sleep 0.25
    import -window root "$OUT/$1.png"
    if "$OUT/e2echeck" changed "$prev" "$OUT/$1.png" 0 0 1400 850 >/dev/null 2>&1; then
      cp "$OUT/$1.png" "$prev"
    else
      return 0
    fi
  done
  echo "e2e: screen never settled for $1"; return 1
}
PANE="780 80 1270 390"   # the generated photo's pane (window at 0,0, 1280×760, below the tabs)

settle 0-start
# A stroke across the canvas with the round brush, in another class.
xdotool mousemove --sync 20 677 click 1          # "class 2" in the palette (Paint tab)
xdotool mousemove --sync 300 300 mousedown 1
for x in $(seq 320 20 640); do xdotool mousemove --sync $x $((300 + (x - 300) / 4)); done
xdotool mouseup 1
settle 1-stroke
"$OUT/e2echeck" changed "$OUT/0-start.png" "$OUT/1-stroke.png" $PANE

"$OUT/xdnd-drop" "$WIN" 500 400 "$PWD/assets/styles/sunset.jpg" >"$OUT/drop.log"
settle 2-drop
"$OUT/e2echeck" changed "$OUT/1-stroke.png" "$OUT/2-drop.png" $PANE

xdotool key --window "$WIN" r
settle 3-random
"$OUT/e2echeck" changed "$OUT/2-drop.png" "$OUT/3-random.png" $PANE

AUTOSAVE=$(find "$HOME" -name autosave.png | head -1)
[ -n "$AUTOSAVE" ] || { echo "e2e: no autosaved label map"; exit 1; }
"$OUT/e2echeck" labels "$AUTOSAVE" 8
echo "e2e: ok (screenshots in $OUT)"

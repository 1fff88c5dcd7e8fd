#!/usr/bin/env bash
# photobak end to end with no Google account: the Takeout feed, then the Library API, into one
# repository:
#   1. Google Takeout, the only complete route to a library: the first scheduled export (a
#      realistic generated multi-part export) lands in a download folder, which photobak
#      imports as an inbox; rerun, it has nothing to do.
#   2. The next scheduled export, delivered into Google Drive (the bundled fake Google
#      service's Drive): photobak fetches it, checks it and imports it; rerun, nothing to do.
#   3. The Library API backup against the same fake service, authorised through the real OAuth
#      loopback flow (BROWSER='curl -sL' plays the browser), run twice to show that the second
#      run changes nothing.
# The repository is left in ./demo_backup (or $1), the generated exports in ./demo_takeout.
# Needs: a Rust toolchain, curl.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="${1:-./demo_backup}"
exports="${DEMO_TAKEOUT:-./demo_takeout}"
items="${DEMO_ITEMS:-200}"
account="demo@example.com"

command -v curl >/dev/null || { echo "error: the demo needs curl (it plays the browser)" >&2; exit 2; }
for d in "$repo" "$exports"; do
  if [ -e "$d" ]; then
    echo "error: $d already exists; remove it or run: scripts/demo.sh OTHER_DIR (and DEMO_TAKEOUT=…)" >&2
    exit 2
  fi
done

echo "=== Building photobak and the two fakes (release). The first build compiles every"
echo "    dependency: about 6-9 minutes on 2 cores; later builds take seconds."
started=$(date +%s)
cargo build --release --locked -p photobak -p photobak-testkit \
  --bin photobak --bin photobak-fake-google --bin photobak-fake-takeout
bin=target/release
echo "    built in $(( $(date +%s) - started )) s"
photobak() { "$bin/photobak" --repo "$repo" "$@"; }

echo
echo "=== 1. The Takeout feed, from a folder: Google's first scheduled export of $account lands"
echo "    in a download folder (several .zip parts); photobak imports what the folder holds"
inbox="$exports/inbox"
mkdir -p "$inbox"
"$bin/photobak-fake-takeout" --out "$inbox" --items "$items" --account "$account" >/dev/null
# Parts written less than a minute ago may still be downloading: photobak waits for them.
# These were generated, not downloaded, so they are dated back.
touch -d '-5 min' "$inbox"/*
photobak import takeout "$inbox"
first_id=$(basename "$(ls "$inbox" | head -1)" | sed -E 's/^(takeout-[0-9]{8}T[0-9]{6}Z).*/\1/')
echo "--- the first scheduled export is the full one: say so (with nothing to compare it with, photobak takes it for incremental, which never makes an item gone)"
photobak exports mark "$first_id" --full
echo "--- the same folder again: nothing to do, no archive opened"
photobak import takeout "$inbox"

echo
echo "=== 2. The feed from Google Drive: the next scheduled export (only what changed) is"
echo "    delivered into the Drive folder 'Takeout' of the bundled fake Google service"
fifo=$(mktemp -u); mkfifo "$fifo"
"$bin/photobak-fake-google" --port 0 --items "$items" --albums 8 --seed 42 --sizes tiny \
  --account "$account" >"$fifo" &
fake=$!
trap 'kill $fake 2>/dev/null || true; rm -f "$fifo"' EXIT
read -r line <"$fifo"
export PHOTOBAK_GOOGLE_ENDPOINT="${line#listening on }"
export GOOGLEPHOTOS_CLIENT_ID="demo-client.apps.googleusercontent.com"
export GOOGLEPHOTOS_CLIENT_SECRET="demo-secret"
export BROWSER="curl -sL"
echo "    fake Google at $PHOTOBAK_GOOGLE_ENDPOINT"
drive_add() { # JSON body on stdin; prints the new file's id
  curl -sf -X POST -H 'content-type: application/json' --data-binary @- \
    "$PHOTOBAK_GOOGLE_ENDPOINT/_fake/drive" | sed -E 's/.*"id":"([^"]+)".*/\1/'
}
folder=$(printf '{"account":"%s","name":"Takeout","mime_type":"application/vnd.google-apps.folder"}' \
  "$account" | drive_add)
mkdir -p "$exports/next"
mapfile -t next < <("$bin/photobak-fake-takeout" --out "$exports/next" --items "$items" \
  --account "$account" --next incremental)
for part in "${next[@]}"; do
  { printf '{"account":"%s","name":"%s","parents":["%s"],"content_base64":"' \
      "$account" "$(basename "$part")" "$folder"
    base64 -w0 "$part"; printf '"}'; } | drive_add >/dev/null
done
echo "    ${#next[@]} parts in Drive; photobak asks for read-only Drive access once"
photobak auth --googlephotos "$account" --drive
photobak import takeout --from-drive --account "$account"
echo "--- again: nothing to download (with --every 1d this loop runs unattended)"
photobak import takeout --from-drive --account "$account"

echo
echo "=== 3. Library API: the app's own uploads, OAuth in the 'browser', a backup, another"
photobak auth --googlephotos "$account"
photobak backup --googlephotos "$account" --concurrency 8
echo "--- the same backup again (nothing should change)"
photobak backup --googlephotos "$account"

echo
echo "=== The repository"
photobak status
echo
echo "Done in $(( $(date +%s) - started )) s. Look around:"
echo "  $bin/photobak --repo $repo status          # per account and source"
echo "  $bin/photobak --repo $repo list | head     # one line per stored item (--json for scripts)"
echo "  $bin/photobak --repo $repo verify          # re-hash every file (or: cd $repo && b3sum -c photobak.b3)"
echo "  ls $repo/googlephotos/*/                   # albums and year folders, one file per content"

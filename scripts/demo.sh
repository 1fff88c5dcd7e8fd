#!/usr/bin/env bash
# A real end-to-end backup with no Google account: starts the bundled fake Google service,
# authorises an account through the real OAuth loopback flow (BROWSER='curl -sL' plays the
# browser), backs it up, runs again to show that nothing changes, and leaves the repository in
# ./demo_backup (or $1).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="${1:-./demo_backup}"
items="${DEMO_ITEMS:-200}"
account="demo@example.com"

cargo build --release --locked -p photobak -p photobak-testkit --bins
bin=target/release

fifo=$(mktemp -u); mkfifo "$fifo"
"$bin/photobak-fake-google" --port 0 --items "$items" --albums 8 --seed 42 --sizes tiny \
  --account "$account" >"$fifo" &
fake=$!
trap 'kill $fake 2>/dev/null || true; rm -f "$fifo"' EXIT
read -r first <"$fifo"
endpoint="${first#listening on }"
echo "fake Google at $endpoint"

export PHOTOBAK_GOOGLE_ENDPOINT="$endpoint"
export GOOGLEPHOTOS_CLIENT_ID="demo-client.apps.googleusercontent.com"
export GOOGLEPHOTOS_CLIENT_SECRET="demo-secret"
export BROWSER="curl -sL"

"$bin/photobak" --repo "$repo" auth --googlephotos "$account"
echo "--- first backup"
"$bin/photobak" --repo "$repo" backup --googlephotos "$account" --concurrency 8
echo "--- second backup (nothing should change)"
"$bin/photobak" --repo "$repo" backup --googlephotos "$account"
echo "--- the repository"
find "$repo/googlephotos" -maxdepth 2 -type d | sort | head -20
echo "files: $(find "$repo/googlephotos" -type f ! -name others.txt | wc -l)," \
     "others.txt lines: $(cat "$repo"/googlephotos/*/*/others.txt 2>/dev/null | wc -l)"

#!/usr/bin/env bash
# photobak end to end with no Google account, both ways into one repository:
#   1. Google Takeout, the only complete route to a library: a realistic generated multi-part
#      export is imported, then the next incremental export of the same account.
#   2. The Library API backup against the bundled fake Google service, authorised through the
#      real OAuth loopback flow (BROWSER='curl -sL' plays the browser), run twice to show that
#      the second run changes nothing.
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
echo "    dependency: about 5-8 minutes on 2 cores; later builds take seconds."
started=$(date +%s)
cargo build --release --locked -p photobak -p photobak-testkit \
  --bin photobak --bin photobak-fake-google --bin photobak-fake-takeout
bin=target/release
echo "    built in $(( $(date +%s) - started )) s"
photobak() { "$bin/photobak" --repo "$repo" "$@"; }

echo
echo "=== 1. Takeout: a generated complete export of $account (several .zip parts), imported"
mapfile -t first < <("$bin/photobak-fake-takeout" --out "$exports" --items "$items" --account "$account")
photobak import takeout --full --account "$account" "${first[@]}"

echo
echo "=== 2. Two months later: the next, incremental export (only what changed), imported"
mapfile -t next < <("$bin/photobak-fake-takeout" --out "$exports" --items "$items" --account "$account" --next incremental)
photobak import takeout --incremental --account "$account" "${next[@]}"

echo
echo "=== 3. Library API: the fake Google service, OAuth in the 'browser', a backup, another"
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

#!/usr/bin/env bash
# photobak benchmarks against the bundled fake Google service (loopback only). See BENCHMARKS.md.
#
#   scripts/bench.sh                 # all four measurements, 5 repetitions each
#   BENCH_ONLY=1,3 scripts/bench.sh  # a subset
#
# Every photobak measurement runs next to a peer doing the same work in the same run (curl,
# b3sum), repetitions interleaved, so that a noisy shared machine shows up in both and the
# ratios stay meaningful. Results: median (min–max) of BENCH_REPS runs, printed as Markdown
# tables on stdout; raw rows in $BENCH_DIR/raw.tsv.
#
# Knobs (environment):
#   BENCH_REPS=5            repetitions of every measurement
#   BENCH_ONLY=1,2,3,4      which measurements (4 needs 2's repository, so it implies 2)
#   BENCH_BIG=1073741824    bytes of the big video (1)       BENCH_SMALL=10485760  small video (1)
#   BENCH_ITEMS=300         realistic-size items of the throughput library (2, 4)
#   BENCH_NOOP_ITEMS=2000   tiny items of the no-op library (3)
#   BENCH_CONCURRENCY=5     photobak --concurrency and xargs -P (2)
#   BENCH_DIR=…             scratch directory (default: a fresh /tmp/photobak-bench.*; removed
#                           at the end unless BENCH_KEEP=1)
#   BENCH_NO_BUILD=1        use the existing target/release binaries
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${BENCH_REPS:-5}
ONLY=${BENCH_ONLY:-1,2,3,4}
BIG=${BENCH_BIG:-1073741824}
SMALL=${BENCH_SMALL:-10485760}
ITEMS=${BENCH_ITEMS:-300}
NOOP_ITEMS=${BENCH_NOOP_ITEMS:-2000}
CONC=${BENCH_CONCURRENCY:-5}
[[ ",$ONLY," == *,4,* && ",$ONLY," != *,2,* ]] && ONLY="$ONLY,2"
want() { [[ ",$ONLY," == *",$1,"* ]]; }

for tool in curl jq b3sum python3 /usr/bin/time xargs awk; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 2; }
done

if [[ -z "${BENCH_NO_BUILD:-}" ]]; then
  cargo build --release --locked -p photobak -p photobak-testkit --bins >&2
fi
work=${BENCH_DIR:-$(mktemp -d /tmp/photobak-bench.XXXXXX)}
mkdir -p "$work/bin"
# Private copies, so a rebuild in the working tree cannot swap the binaries mid-run.
cp target/release/photobak target/release/photobak-fake-google "$work/bin/"
PB=$work/bin/photobak
FAKE=$work/bin/photobak-fake-google
RAW=$work/raw.tsv
: >"$RAW"
fake_pid=""
cleanup() {
  if [[ -n "$fake_pid" ]]; then kill "$fake_pid" 2>/dev/null || true; wait "$fake_pid" 2>/dev/null || true; fi
  if [[ -z "${BENCH_KEEP:-}" ]]; then rm -rf "$work"; else echo "bench: kept $work" >&2; fi
}
trap cleanup EXIT

log() { echo "bench: $*" >&2; }

# ---------------------------------------------------------------- helpers

# start_fake ARGS…: starts photobak-fake-google, sets E (its base URL) and fake_pid.
start_fake() {
  stop_fake
  local fifo=$work/fake.fifo
  rm -f "$fifo"; mkfifo "$fifo"
  "$FAKE" --port 0 "$@" >"$fifo" 2>"$work/fake.err" &
  fake_pid=$!
  local first
  read -r first <"$fifo"
  rm -f "$fifo"
  E=${first#listening on }
  [[ "$E" == http://127.0.0.1:* ]] || { echo "bench: fake said: $first" >&2; exit 1; }
  export PHOTOBAK_GOOGLE_ENDPOINT=$E
}
stop_fake() {
  if [[ -n "$fake_pid" ]]; then kill "$fake_pid" 2>/dev/null || true; wait "$fake_pid" 2>/dev/null || true; fi
  fake_pid=""
}

# photobak finds the fake through PHOTOBAK_GOOGLE_ENDPOINT (exported by start_fake);
# BROWSER='curl -sL' plays the browser of the OAuth flow.
export GOOGLEPHOTOS_CLIENT_ID=bench-client GOOGLEPHOTOS_CLIENT_SECRET=bench-secret BROWSER='curl -sL'
pb() { "$PB" "$@"; }

# auth REPO ACCOUNT: a fresh repository authorised through the real loopback OAuth flow.
auth() {
  rm -rf "$1"
  pb --repo "$1" auth --googlephotos "$2" >/dev/null
}

stat_of() { curl -sf "$E/_fake/stats" | jq -r ".$1"; }
token_for() {
  curl -sf -X POST "$E/_fake/tokens" -d "{\"account\":\"$1\"}" | jq -r .access_token
}

# timed SECTION LABEL REP CMD…: runs CMD with its output in $work/last.{out,err}; appends
# "SECTION LABEL REP WALL_S MAXRSS_KIB CPU_S" to raw.tsv (CPU: user + system of CMD and its
# children, not of the fake). A non-zero exit stops the bench.
timed() {
  local section=$1 label=$2 rep=$3; shift 3
  local t0 t1 rc=0
  t0=$(date +%s%N)
  /usr/bin/time -f '%M %U %S' -o "$work/time.out" "$@" >"$work/last.out" 2>"$work/last.err" || rc=$?
  t1=$(date +%s%N)
  if ((rc != 0)); then
    echo "bench: $label (rep $rep) exited $rc" >&2
    tail -20 "$work/last.out" "$work/last.err" >&2
    exit 1
  fi
  local wall rss cpu
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e9}')
  read -r rss cpu < <(tail -1 "$work/time.out" | awk '{printf "%s %.2f\n", $1, $2 + $3}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$section" "$label" "$rep" "$wall" "$rss" "$cpu" >>"$RAW"
  log "$label #$rep: ${wall}s, max RSS ${rss} KiB, CPU ${cpu}s"
}

# col SECTION LABEL N: column N (4 wall, 5 rss, 6 cpu) of the matching raw rows, one per line.
col() { awk -F'\t' -v s="$1" -v l="$2" -v n="$3" '$1==s && $2==l {print $n}' "$RAW"; }
# med/min/max of numbers on stdin
med() { sort -g | awk '{a[NR]=$1} END{if(NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
mmin() { sort -g | head -1; }
mmax() { sort -g | tail -1; }
# summary SECTION LABEL N FMT: "median (min–max)"
summary() {
  local m lo hi
  m=$(col "$1" "$2" "$3" | med); lo=$(col "$1" "$2" "$3" | mmin); hi=$(col "$1" "$2" "$3" | mmax)
  awk -v m="$m" -v lo="$lo" -v hi="$hi" -v f="$4" 'BEGIN{printf f " (" f "–" f ")", m, lo, hi}'
}
median_of() { col "$1" "$2" "$3" | med; }
# paired ratios A/B per repetition: "median (min–max)"
ratio() {
  local s=$1 a=$2 b=$3 n=${4:-4}
  paste <(col "$s" "$a" "$n") <(col "$s" "$b" "$n") | awk '{print $1/$2}' >"$work/ratios"
  local m lo hi
  m=$(med <"$work/ratios"); lo=$(mmin <"$work/ratios"); hi=$(mmax <"$work/ratios")
  awk -v m="$m" -v lo="$lo" -v hi="$hi" 'BEGIN{printf "%.2f (%.2f–%.2f)", m, lo, hi}'
}
# MB/s (10^6 bytes) of BYTES over the median wall time of SECTION LABEL
mbps() { awk -v b="$1" -v t="$(median_of "$2" "$3" 4)" 'BEGIN{printf "%.0f", b/1e6/t}'; }

# media_urls ACCOUNT: one download URL per line for every item photobak would download: photos
# as baseUrl=d, READY videos as baseUrl=dv (a 302 to the video host; curl -L follows it).
media_urls() {
  local tok page="" url
  tok=$(token_for "$1")
  while :; do
    url="$E/photoslibrary/v1/mediaItems?pageSize=100${page:+&pageToken=$page}"
    curl -sf -H "Authorization: Bearer $tok" "$url" >"$work/page.json"
    jq -r '.mediaItems[]? |
      if .mediaMetadata.video then
        (if .mediaMetadata.video.status == "READY" then .baseUrl + "=dv" else empty end)
      else .baseUrl + "=d" end' "$work/page.json"
    page=$(jq -r '.nextPageToken // empty' "$work/page.json")
    [[ -n "$page" ]] || break
  done
}

# fetch.sh URLFILE DIR MODE: the plain-downloader peers: every URL fetched once, CONC at a time.
#   xargs:        xargs -P CONC curl, one curl process per file (what most scripts do)
#   xargs+fsync:  the same, each file fsynced (sync FILE) once downloaded, as photobak does
#   parallel:     one curl process, curl --parallel --parallel-max CONC (keep-alive, no
#                 per-file process start: the leanest plain downloader)
#   parallel+fsync: the same, then every file fsynced (one `sync FILE…` at the end)
cat >"$work/fetch.sh" <<EOF
set -euo pipefail
rm -rf "\$2"; mkdir -p "\$2"
case "\$3" in
  xargs) awk -v d="\$2" '{print d "/" NR, \$0}' "\$1" | xargs -P $CONC -n 2 curl -sfL -o ;;
  xargs+fsync) awk -v d="\$2" '{print d "/" NR, \$0}' "\$1" |
    xargs -P $CONC -n 2 sh -c 'curl -sfL -o "\$0" "\$1" && sync "\$0"' ;;
  parallel) awk -v d="\$2" '{print "url = \\"" \$0 "\\"\noutput = \\"" d "/" NR "\\""}' "\$1" >"\$2.cfg"
    curl -sfL --no-progress-meter --parallel --parallel-max $CONC -K "\$2.cfg"; rm -f "\$2.cfg" ;;
  parallel+fsync) awk -v d="\$2" '{print "url = \\"" \$0 "\\"\noutput = \\"" d "/" NR "\\""}' "\$1" >"\$2.cfg"
    curl -sfL --no-progress-meter --parallel --parallel-max $CONC -K "\$2.cfg"; rm -f "\$2.cfg"; sync "\$2"/* ;;
  *) echo "fetch.sh: unknown mode \$3" >&2; exit 2 ;;
esac
EOF

# list.py E TOKEN: the listing a no-op backup needs, as a minimal client would do it: one
# keep-alive connection, one request at a time: every album page, every album's items
# (mediaItems:search), every mediaItems page. Prints the number of requests.
cat >"$work/list.py" <<'EOF'
import http.client, json, sys, urllib.parse
url = urllib.parse.urlsplit(sys.argv[1])
conn = http.client.HTTPConnection(url.hostname, url.port)
auth = {"Authorization": "Bearer " + sys.argv[2]}
n = 0
def call(method, path, body=None):
    global n
    n += 1
    h = dict(auth)
    if body is not None:
        body = json.dumps(body)
        h["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        sys.exit(f"{method} {path}: {r.status} {data[:200]!r}")
    return json.loads(data)
def pages(method, path, body=None):
    token = None
    while True:
        if method == "GET":
            page = call("GET", path + (f"&pageToken={token}" if token else ""))
        else:
            page = call("POST", path, dict(body, **({"pageToken": token} if token else {})))
        yield page
        token = page.get("nextPageToken")
        if not token:
            return
albums = [a["id"] for p in pages("GET", "/photoslibrary/v1/albums?pageSize=50") for a in p.get("albums", [])]
items = 0
for a in albums:
    for p in pages("POST", "/photoslibrary/v1/mediaItems:search", {"albumId": a, "pageSize": 100}):
        items += len(p.get("mediaItems", []))
for p in pages("GET", "/photoslibrary/v1/mediaItems?pageSize=100"):
    items += len(p.get("mediaItems", []))
print(n, items)
EOF

human_bytes() { awk -v b="$1" 'BEGIN{ if (b>=2^30) printf "%.2f GiB", b/2^30; else printf "%.1f MiB", b/2^20 }'; }
OUT=$work/report.md
: >"$OUT"
emit() { printf '%s\n' "$*" >>"$OUT"; }

started=$(date +%s)
emit "Run $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes');" \
  "$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(awk '/MemTotal/{printf "%.0f GiB", $2/2^20}' /proc/meminfo) RAM," \
  "Linux $(uname -r); load average at start: $(cut -d' ' -f1-3 /proc/loadavg); $REPS repetitions, median (min–max)."
emit ""

# ---------------------------------------------------------------- 1. memory, one big video
if want 1; then
  log "1. peak RSS: one $(human_bytes "$SMALL") vs one $(human_bytes "$BIG") video"
  start_fake --items 0 --albums 0 --seed 11 --account small@example.com --account big@example.com
  for spec in "small@example.com small.mp4 $SMALL" "big@example.com big.mp4 $BIG"; do
    read -r acct name size <<<"$spec"
    curl -sf -X POST "$E/_fake/items" -d "{\"account\":\"$acct\",\"filename\":\"$name\",
      \"mime_type\":\"video/mp4\",\"video_status\":\"READY\",
      \"content\":{\"generated\":{\"kind\":\"mp4\",\"seed\":1,\"size\":$size}}}" >/dev/null
  done
  for ((r = 1; r <= REPS; r++)); do
    auth "$work/m-small" small@example.com
    timed 1 photobak-small "$r" "$PB" --repo "$work/m-small" backup --googlephotos small@example.com --concurrency 1
    auth "$work/m-big" big@example.com
    timed 1 photobak-big "$r" "$PB" --repo "$work/m-big" backup --googlephotos big@example.com --concurrency 1
    got=$(find "$work/m-big/googlephotos" -type f -name 'big*.mp4' -printf '%s\n')
    [[ "$got" == "$BIG" ]] || { log "big video not stored whole ($got bytes)"; exit 1; }
    rm -rf "$work/m-small" "$work/m-big"
    media_urls big@example.com >"$work/big.url"
    timed 1 curl-big "$r" curl -sfL -o "$work/big.curl" "$(cat "$work/big.url")"
    rm -f "$work/big.curl"
    timed 1 curl+fsync-big "$r" sh -c 'curl -sfL -o "$1" "$2" && sync "$1"' sh "$work/big.curl" "$(cat "$work/big.url")"
    rm -f "$work/big.curl"
  done
  stop_fake
  small_rss=$(median_of 1 photobak-small 5); big_rss=$(median_of 1 photobak-big 5)
  emit "### 1. Peak memory for one big video"
  emit ""
  emit "| run | wall s | MB/s | CPU s | max RSS MiB |"
  emit "| --- | --- | --- | --- | --- |"
  for l in photobak-small photobak-big curl-big curl+fsync-big; do
    case $l in photobak-small) b=$SMALL ;; *) b=$BIG ;; esac
    emit "| $l ($(human_bytes "$b")) | $(summary 1 $l 4 %.2f) | $(mbps "$b" 1 $l) | $(median_of 1 $l 6) | $(col 1 $l 5 | awk '{print $1/1024}' | med | awk '{printf "%.1f", $1}') ($(col 1 $l 5 | mmin | awk '{printf "%.1f", $1/1024}')–$(col 1 $l 5 | mmax | awk '{printf "%.1f", $1/1024}')) |"
  done
  emit ""
  emit "- peak RSS growth from $(human_bytes "$SMALL") to $(human_bytes "$BIG"): $(awk -v a="$small_rss" -v b="$big_rss" 'BEGIN{printf "%+.1f MiB (%.2fx)", (b-a)/1024, b/a}') (medians)"
  emit "- photobak/curl wall time for the big video: $(ratio 1 photobak-big curl-big)"
  emit "- photobak/(curl+fsync) wall time for the big video: $(ratio 1 photobak-big curl+fsync-big)"
  emit ""
fi

# ---------------------------------------------------------------- 2. throughput vs curl
if want 2; then
  log "2. throughput: $ITEMS realistic items, photobak --concurrency $CONC vs xargs -P $CONC curl"
  start_fake --items "$ITEMS" --albums 12 --seed 7 --sizes realistic --account demo@example.com
  media_urls demo@example.com >"$work/urls"
  n_urls=$(wc -l <"$work/urls")
  lib_bytes=$(curl -sf "$E/_fake/library" | jq '[.accounts[0].items[] | select(.video_status == null or .video_status == "READY") | .size] | add')
  for ((r = 1; r <= REPS; r++)); do
    # Rotate who goes first, so a slow spell on the shared machine does not always hit one.
    peers=(photobak curl curl-parallel curl+fsync curl-parallel+fsync)
    order=""
    for ((i = 0; i < ${#peers[@]}; i++)); do order+=" ${peers[(i + r - 1) % ${#peers[@]}]}"; done
    for who in $order; do
      b0=$(stat_of media_bytes_sent); q0=$(stat_of media_requests)
      if [[ $who == photobak ]]; then
        auth "$work/tp-repo" demo@example.com
        timed 2 photobak "$r" "$PB" --repo "$work/tp-repo" backup --googlephotos demo@example.com --concurrency "$CONC"
        # keep the last repository for measurement 4
        ((r == REPS)) || rm -rf "$work/tp-repo"
      else
        timed 2 "$who" "$r" bash "$work/fetch.sh" "$work/urls" "$work/tp-curl" "$(case $who in curl) echo xargs ;; curl+fsync) echo xargs+fsync ;; curl-parallel) echo parallel ;; *) echo parallel+fsync ;; esac)"
        got=$(find "$work/tp-curl" -type f -printf '%s\n' | awk '{s+=$1} END{print s+0}')
        [[ "$got" == "$lib_bytes" ]] || { log "curl fetched $got bytes, expected $lib_bytes"; exit 1; }
        rm -rf "$work/tp-curl"
      fi
      b1=$(stat_of media_bytes_sent); q1=$(stat_of media_requests)
      log "  $who: $((q1 - q0)) media requests, $((b1 - b0)) bytes served"
      printf '2\t%s-bytes\t%s\t%s\t%s\n' "$who" "$r" "$((b1 - b0))" "$((q1 - q0))" >>"$RAW"
    done
  done
  stop_fake
  row2() { # LABEL TITLE
    emit "| $2 | $(summary 2 "$1" 4 %.2f) | $(mbps "$lib_bytes" 2 "$1") | $(median_of 2 "$1" 6) | $(col 2 "$1-bytes" 5 | med) | $(col 2 "$1-bytes" 4 | med) |"
  }
  emit "### 2. Backup throughput vs curl"
  emit ""
  emit "$ITEMS items ($n_urls downloadable, $(human_bytes "$lib_bytes")), concurrency $CONC."
  emit ""
  emit "| run | wall s | MB/s | CPU s | media requests | bytes served |"
  emit "| --- | --- | --- | --- | --- | --- |"
  row2 photobak "photobak backup --concurrency $CONC"
  row2 curl "xargs -P $CONC curl"
  row2 curl-parallel "curl --parallel --parallel-max $CONC"
  row2 curl+fsync "xargs -P $CONC (curl; sync FILE)"
  row2 curl-parallel+fsync "curl --parallel --parallel-max $CONC; sync FILE…"
  emit ""
  emit "- photobak/curl wall time: $(ratio 2 photobak curl)"
  emit "- photobak/(curl --parallel) wall time: $(ratio 2 photobak curl-parallel)"
  emit "- photobak/(xargs curl; sync FILE) wall time: $(ratio 2 photobak curl+fsync)"
  emit "- photobak/(curl --parallel; sync FILE…) wall time: $(ratio 2 photobak curl-parallel+fsync)"
  emit "- photobak peak RSS: $(summary 2 photobak 5 %.0f) KiB"
  emit ""
fi

# ---------------------------------------------------------------- 3. no-op rerun
if want 3; then
  log "3. no-op rerun: $NOOP_ITEMS tiny items"
  start_fake --items "$NOOP_ITEMS" --albums 20 --seed 5 --sizes tiny --account demo@example.com
  auth "$work/noop-repo" demo@example.com
  timed 3 first-backup 1 "$PB" --repo "$work/noop-repo" backup --googlephotos demo@example.com --concurrency "$CONC"
  tok=$(token_for demo@example.com)
  for ((r = 1; r <= REPS; r++)); do
    q0=$(stat_of media_requests); a0=$(stat_of api_requests)
    timed 3 rerun "$r" "$PB" --repo "$work/noop-repo" backup --googlephotos demo@example.com --concurrency "$CONC"
    q1=$(stat_of media_requests); a1=$(stat_of api_requests)
    grep -q 'nothing changed' "$work/last.out" || { log "rerun changed something:"; cat "$work/last.out" >&2; exit 1; }
    timed 3 listing "$r" python3 "$work/list.py" "$E" "$tok"
    a2=$(stat_of api_requests)
    printf '3\trerun-requests\t%s\t%s\t%s\n' "$r" "$((q1 - q0))" "$((a1 - a0))" >>"$RAW"
    printf '3\tlisting-requests\t%s\t0\t%s\n' "$r" "$((a2 - a1))" >>"$RAW"
    log "  rerun: $((q1 - q0)) media requests, $((a1 - a0)) API requests; plain listing: $((a2 - a1)) API requests"
  done
  stop_fake
  emit "### 3. No-op rerun"
  emit ""
  emit "$NOOP_ITEMS tiny items in 20 albums; first backup $(summary 3 first-backup 4 %.2f) s."
  emit ""
  emit "| run | wall s | CPU s | media requests | API requests | max RSS MiB |"
  emit "| --- | --- | --- | --- | --- | --- |"
  emit "| photobak backup (rerun) | $(summary 3 rerun 4 %.3f) | $(median_of 3 rerun 6) | $(col 3 rerun-requests 4 | mmax) (max) | $(col 3 rerun-requests 5 | med) | $(median_of 3 rerun 5 | awk '{printf "%.1f", $1/1024}') |"
  emit "| same listing, minimal client (python3 http.client) | $(summary 3 listing 4 %.3f) | $(median_of 3 listing 6) | 0 | $(col 3 listing-requests 5 | med) | |"
  emit ""
  emit "- photobak rerun / plain listing: $(ratio 3 rerun listing)"
  emit ""
fi

# ---------------------------------------------------------------- 4. verify vs b3sum
if want 4; then
  repo=$work/tp-repo
  [[ -f "$repo/photobak.b3" ]] || { log "no photobak.b3 in $repo"; exit 1; }
  files=$(wc -l <"$repo/photobak.b3")
  bytes=$(du -sb --apparent-size "$repo/googlephotos" | cut -f1)
  log "4. verify vs b3sum -c: $files files"
  # Warm the page cache for both (the files were just written, but make sure).
  (cd "$repo" && b3sum -c photobak.b3 >/dev/null)
  for ((r = 1; r <= REPS; r++)); do
    for who in $( ((r % 2)) && echo "verify b3sum" || echo "b3sum verify"); do
      if [[ $who == verify ]]; then
        timed 4 verify "$r" env -C "$repo" "$PB" --repo . verify
      else
        timed 4 b3sum "$r" env -C "$repo" b3sum -c photobak.b3
        ! grep -qv ': OK$' "$work/last.out" || { log "b3sum -c found damage"; exit 1; }
      fi
    done
  done
  emit "### 4. verify vs b3sum -c"
  emit ""
  emit "The repository of measurement 2: $files files, $(human_bytes "$bytes") (warm page cache)."
  emit ""
  emit "| run | wall s | MB/s | CPU s |"
  emit "| --- | --- | --- | --- |"
  emit "| photobak verify | $(summary 4 verify 4 %.3f) | $(mbps "$bytes" 4 verify) | $(median_of 4 verify 6) |"
  emit "| b3sum -c photobak.b3 | $(summary 4 b3sum 4 %.3f) | $(mbps "$bytes" 4 b3sum) | $(median_of 4 b3sum 6) |"
  emit ""
  emit "- verify/b3sum wall time: $(ratio 4 verify b3sum)"
  emit ""
fi

emit "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); whole bench $(($(date +%s) - started)) s."
log "done in $(($(date +%s) - started)) s"
cat "$OUT"

#!/usr/bin/env bash
# mediafire.sh: ferry's mediafire backend against curl on the MediaFire
# stand-in (mediafireserver on loopback, a fresh server per sub-benchmark):
# put and get of one large file (256 MiB) and of 500 small files
# (4-64 KiB, fixed seed), the API calls per file counted at the server, as
# a markdown table with the targets met or missed.
#
# Needs Go and curl (and bash, awk). Runs, from the repository root:
#
#   go test -run '^$' -bench BenchmarkMediaFire -benchtime=1x -count=$N ./bench/
#
# The baselines are curl moving the same bytes to the same server: for put,
# upload/simple under an upload action token (one request per file, one
# curl process, one connection) and, for the large file, also the
# upload/resumable units a client that follows the spec sends above 4 MiB
# (units cut and hashed before the clock starts); for get, curl of each
# file's direct download link to /dev/null and, for the large file, also
# piped into `openssl dgst -sha256`, as ferry verifies every download;
# and SHA-256 alone on one core, which bounds any verified get (ferry
# hashes beside the network reads, but one hash cannot be split). ferry
# goes through the backend (internal/backend/mediafire) as a command
# would: spooled and hashed puts,
# SHA-256-verified gets (one listing, then each file by its id), one file
# after another. A warm-up file is moved
# before the clock starts, so login, action token and folder lookups are
# not counted per file.
#
# Environment:
#   FERRY_BENCH_COUNT     N, runs of each sub-benchmark (default 3); the table
#                         shows the median, the details every run
#   FERRY_BENCH_MF_SIZE   bytes of the large file (default 256M)
#   FERRY_BENCH_MF_FILES  number of small files (default 500)
#   FERRY_BENCH_MF_ONLY   "large" or "small": run only that file set's rows
#   FERRY_BENCH_DIR       where servers and source files live (default /dev/shm)
#   FERRY_BENCH_KEEP=DIR  keep the raw go test output in DIR
#
# The numbers are only meaningful on an otherwise idle machine: ferry, curl
# and the server share its cores. The header shows the load average.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v curl >/dev/null || { echo "mediafire.sh: curl is the baseline; install it" >&2; exit 1; }
count=${FERRY_BENCH_COUNT:-3}
out=${FERRY_BENCH_KEEP:-$(mktemp -d)}
mkdir -p "$out"
[ -n "${FERRY_BENCH_KEEP:-}" ] || trap 'rm -rf "$out"' EXIT

load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
pattern=BenchmarkMediaFire
case ${FERRY_BENCH_MF_ONLY:-} in
  "") ;;
  large|small) pattern="BenchmarkMediaFire/-$FERRY_BENCH_MF_ONLY\$" ;;
  *) echo "mediafire.sh: FERRY_BENCH_MF_ONLY is large or small, not $FERRY_BENCH_MF_ONLY" >&2; exit 2 ;;
esac
bench_cmd="go test -run '^\$' -bench '$pattern' -benchtime=1x -count=$count ./bench/"
echo "+ $bench_cmd" >&2
go test -run '^$' -bench "$pattern" -benchtime=1x -count="$count" ./bench/ | tee "$out/bench.txt" >&2
load_after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")

cpu=$(awk -F': ' '/^cpu:/ {print $2; exit}' "$out/bench.txt")
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
curl_version=$(curl --version | awk 'NR == 1 {print $1 " " $2}')

awk -v count="$count" -v cpu="$cpu" -v cores="$cores" -v load="$load_before" -v load_after="$load_after" \
    -v size="${FERRY_BENCH_MF_SIZE:-256M}" -v files="${FERRY_BENCH_MF_FILES:-500}" -v curlv="$curl_version" \
    -v bench_cmd="$bench_cmd" '
# median of the space-separated numbers in s
function median(s,    a, n, i, j, t) {
  n = split(s, a, " ")
  if (n == 0) return 0
  for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j+1] = a[j]; a[j+1] = t }
  return (n % 2) ? a[(n+1)/2] + 0 : (a[n/2] + a[n/2+1]) / 2
}
function fmt_rate(v) { return v > 0 ? sprintf("%.0f", v) : "n/a" }
function share(a, b) { return (a > 0 && b > 0) ? 100 * a / b : 0 }
function fmt_share(p) { return p > 0 ? sprintf("%.0f%%", p) : "n/a" }
function fmt_calls(c) { return (c != "") ? sprintf("%.2f", c) : "n/a" }
function fmt_cpu(a, b) { return (a != "" && b != "") ? sprintf("%.0f / %.0f", a, b) : "n/a" }
function met(ok) { return ok ? "met" : "**missed**" }

$1 ~ /^BenchmarkMediaFire\// {
  name = $1
  sub(/^BenchmarkMediaFire\//, "", name)
  sub(/-[0-9]+$/, "", name)
  if (!(name in seen)) { order[++norder] = name; seen[name] = 1 }
  for (i = 2; i <= NF; i++) {
    if ($i == "MB/s") rate[name] = rate[name] " " $(i-1)
    if ($i == "calls/file") calls[name] = calls[name] " " $(i-1)
    if ($i == "setup-calls") setup[name] = setup[name] " " $(i-1)
    if ($i == "cpu-ms/op") cpums[name] = cpums[name] " " $(i-1)
  }
}
END {
  for (n in rate) r[n] = median(rate[n])
  for (n in calls) c[n] = median(calls[n])
  for (n in setup) su[n] = median(setup[n])
  for (n in cpums) cm[n] = median(cpums[n])

  printf "### ferry vs curl, MediaFire stand-in on loopback\n\n"
  printf "Large file %s, %s small files of 4-64 KiB; median of %d runs (MB/s = 10^6 bytes/s); %s, %s cores; load average before the run: %s, after: %s; %s.\n", size, files, count, cpu, cores, load, load_after, curlv
  printf "API calls are counted at the server and exclude direct downloads; ferry moved a warm-up file first (its one-time calls: put %s, get %s).\n\n", su["put-small/ferry"], su["get-small/ferry"]
  printf "| operation | ferry MB/s | curl MB/s | ferry/curl | CPU ms per op, ferry / curl | ferry API calls per file | curl API calls per file | target | result |\n"
  printf "|---|---:|---:|---:|---:|---:|---:|---|---|\n"

  if ("put-large/ferry" in r || "get-large/ferry" in r) {
    f = r["put-large/ferry"]; b = r["put-large/curl"]; p = share(f, b)
    printf "| put %s, curl upload/simple | %s | %s | %s | %s | %s | %s | >= 80%% of curl | %s |\n", size, fmt_rate(f), fmt_rate(b), fmt_share(p), fmt_cpu(cm["put-large/ferry"], cm["put-large/curl"]), fmt_calls(c["put-large/ferry"]), fmt_calls(c["put-large/curl"]), met(p >= 80)
    b = r["put-large/curl-resumable"]; p = share(f, b)
    printf "| put %s, curl upload/resumable units | %s | %s | %s | %s | %s | %s | >= 80%% of curl | %s |\n", size, fmt_rate(f), fmt_rate(b), fmt_share(p), fmt_cpu(cm["put-large/ferry"], cm["put-large/curl-resumable"]), fmt_calls(c["put-large/ferry"]), fmt_calls(c["put-large/curl-resumable"]), met(p >= 80)
    f = r["get-large/ferry"]; b = r["get-large/curl"]; p = share(f, b)
    printf "| get %s, curl of the direct link | %s | %s | %s | %s | %s | %s | >= 80%% of curl | %s |\n", size, fmt_rate(f), fmt_rate(b), fmt_share(p), fmt_cpu(cm["get-large/ferry"], cm["get-large/curl"]), fmt_calls(c["get-large/ferry"]), fmt_calls(c["get-large/curl"]), met(p >= 80)
    b = r["get-large/curl-sha256"]; p = share(f, b)
    printf "| get %s, curl piped into openssl dgst -sha256 | %s | %s | %s | %s | %s | %s | >= 80%% of curl | %s |\n", size, fmt_rate(f), fmt_rate(b), fmt_share(p), fmt_cpu(cm["get-large/ferry"], cm["get-large/curl-sha256"]), fmt_calls(c["get-large/ferry"]), fmt_calls(c["get-large/curl-sha256"]), met(p >= 80)
    f = r["get-large/sha256"]; b = r["get-large/curl"]; p = share(f, b)
    printf "| SHA-256 of %s on one core: the ceiling of a verified get | %s | %s | %s | %s | | | (a ceiling) | |\n", size, fmt_rate(f), fmt_rate(b), fmt_share(p), fmt_cpu(cm["get-large/sha256"], cm["get-large/curl"])
  }
  if ("put-small/ferry" in r || "get-small/ferry" in r) {
    f = r["put-small/ferry"]; b = r["put-small/curl"]; p = share(f, b); k = c["put-small/ferry"]
    printf "| put %s small files | %s | %s | %s | %s | %s | %s | <= 3 API calls per file | %s |\n", files, fmt_rate(f), fmt_rate(b), fmt_share(p), fmt_cpu(cm["put-small/ferry"], cm["put-small/curl"]), fmt_calls(k), fmt_calls(c["put-small/curl"]), met(k != "" && k <= 3)
    f = r["get-small/ferry"]; b = r["get-small/curl"]; p = share(f, b)
    printf "| get %s small files | %s | %s | %s | %s | %s | %s | (none) | |\n", files, fmt_rate(f), fmt_rate(b), fmt_share(p), fmt_cpu(cm["get-small/ferry"], cm["get-small/curl"]), fmt_calls(c["get-small/ferry"]), fmt_calls(c["get-small/curl"])
  }
  printf "\n<details><summary>every run (MB/s; API calls per file; CPU ms per op)</summary>\n\n"
  for (i = 1; i <= norder; i++) printf "- %s:%s;%s;%s\n", order[i], rate[order[i]], calls[order[i]], cpums[order[i]]
  printf "\n</details>\n\n"
  printf "Command: `%s`.\n", bench_cmd
}
' "$out/bench.txt"

#!/usr/bin/env bash
# transfer.sh: ferry vs go-mega transfer rates on one loopback MEGA server,
# ferry as a share of the limit (the same bytes moved with ferry's pieces,
# concurrency and HTTP client but no crypto: the ceiling for ferry on this
# server and machine), plus ferry's peak RSS for 1 GiB transfers, as a
# markdown table.
#
# Needs only Go (and bash, awk). Runs, from the repository root:
#
#   go test -run '^$' -bench BenchmarkTransfer -benchtime=1x -count=$N ./bench/
#   FERRY_BENCH_RSS=1 go test -run '^TestPeakRSS$' -count=1 -v ./bench/
#
# Environment:
#   FERRY_BENCH_COUNT     N, runs of each sub-benchmark (default 3); the table
#                         shows the median, the details every run
#   FERRY_BENCH_SIZE      bytes per transfer (default 256M; see bench/transfer_test.go)
#   FERRY_BENCH_GOMEGA_UL, FERRY_BENCH_GOMEGA_DL
#                         go-mega's "best" worker counts (default 16 and 16)
#   FERRY_BENCH_RSS_SIZE  bytes per transfer of the RSS runs (default 1G)
#   FERRY_BENCH_SKIP_RSS=1  skip the RSS runs
#   FERRY_BENCH_KEEP=DIR  keep the raw go test output in DIR
#
# The numbers are only meaningful on an otherwise idle machine: the client
# and the server share its cores. The header shows the load average.
set -euo pipefail
cd "$(dirname "$0")/.."

count=${FERRY_BENCH_COUNT:-3}
out=${FERRY_BENCH_KEEP:-$(mktemp -d)}
mkdir -p "$out"
[ -n "${FERRY_BENCH_KEEP:-}" ] || trap 'rm -rf "$out"' EXIT

load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
bench_cmd="go test -run '^\$' -bench BenchmarkTransfer -benchtime=1x -count=$count ./bench/"
echo "+ $bench_cmd" >&2
go test -run '^$' -bench BenchmarkTransfer -benchtime=1x -count="$count" ./bench/ | tee "$out/bench.txt" >&2

rss_cmd="FERRY_BENCH_RSS=1 go test -run '^TestPeakRSS\$' -count=1 -v ./bench/"
if [ "${FERRY_BENCH_SKIP_RSS:-}" != 1 ]; then
  echo "+ $rss_cmd" >&2
  FERRY_BENCH_RSS=1 go test -run '^TestPeakRSS$' -count=1 -v ./bench/ | tee "$out/rss.txt" >&2 || true
else
  : > "$out/rss.txt"
fi

cpu=$(awk -F': ' '/^cpu:/ {print $2; exit}' "$out/bench.txt")
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")

awk -v count="$count" -v cpu="$cpu" -v cores="$cores" -v load="$load_before" \
    -v size="${FERRY_BENCH_SIZE:-256M}" -v ul="${FERRY_BENCH_GOMEGA_UL:-16}" -v dl="${FERRY_BENCH_GOMEGA_DL:-16}" \
    -v bench_cmd="$bench_cmd" -v rss_cmd="$rss_cmd" '
# median of the space-separated numbers in s
function median(s,    a, n, i, j, t) {
  n = split(s, a, " ")
  if (n == 0) return 0
  for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j+1] = a[j]; a[j+1] = t }
  return (n % 2) ? a[(n+1)/2] + 0 : (a[n/2] + a[n/2+1]) / 2
}
function fmt_rate(v) { return v > 0 ? sprintf("%.0f", v) : "n/a" }
function ratio(a, b) { return (a > 0 && b > 0) ? a / b : 0 }
function fmt_ratio(r) { return r > 0 ? sprintf("%.2fx", r) : "n/a" }
function share(a, b) { return (a > 0 && b > 0) ? 100 * a / b : 0 }
function fmt_share(p) { return p > 0 ? sprintf("%.0f%%", p) : "n/a" }
function yesno(ok) { return ok ? "yes" : "**no**" }

FILENAME ~ /bench.txt$/ && $1 ~ /^BenchmarkTransfer\// {
  name = $1
  sub(/^BenchmarkTransfer\//, "", name)
  sub(/-[0-9]+$/, "", name)
  for (i = 2; i <= NF; i++) if ($i == "MB/s") { runs[name] = runs[name] " " $(i-1); if (!(name in seen)) { order[++norder] = name; seen[name] = 1 } }
}
FILENAME ~ /rss.txt$/ && /PEAK_RSS/ {
  mode = ""; kib = 0; hwm = 0; pkib = 0; bytes = 0; secs = 0
  for (i = 1; i <= NF; i++) {
    split($i, kv, "=")
    if (kv[1] == "mode") mode = kv[2]
    if (kv[1] == "maxrss_kib") kib = kv[2]
    if (kv[1] == "hwm_kib") hwm = kv[2]
    if (kv[1] == "parent_hwm_kib") pkib = kv[2]
    if (kv[1] == "bytes") bytes = kv[2]
    if (kv[1] == "seconds") secs = kv[2]
  }
  rss[mode] = (hwm > 0) ? hwm : kib; maxrss[mode] = kib; parent[mode] = pkib; rssbytes = bytes; rsssecs[mode] = secs; nrss++
}
END {
  for (n in runs) med[n] = median(runs[n])
  up = med["upload/ferry"]; upd = med["upload/gomega-default"]; upb = med["upload/gomega-best"]
  dn = med["download/ferry"]; dnd = med["download/gomega-default"]; dnb = med["download/gomega-best"]
  upl = med["upload/limit"]; dnl = med["download/limit"]
  mac = med["cbcmac"]

  printf "### ferry vs go-mega, one loopback MEGA server\n\n"
  printf "%s per transfer, median of %d runs (MB/s = 10^6 bytes/s); %s, %s cores, load average before the run: %s.\n", size, count, cpu, cores, load
  printf "go-mega default = 1 upload / 3 download workers; go-mega best = SetUploadWorkers(%s), SetDownloadWorkers(%s).\n", ul, dl
  printf "limit = the same bytes through the same server with ferry'"'"'s pieces, requests in flight, memory budget and HTTP client, and no crypto: plaintext POSTs without a checksum, then `p`; ranged GETs written in order, not decrypted or MACed. ferry/limit is what encryption and verification leave of it.\n\n"

  printf "| operation | ferry MB/s | limit MB/s | ferry/limit | go-mega default MB/s | go-mega best MB/s | ferry/go-mega default | ferry/go-mega best | target | met |\n"
  printf "|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n"
  s1 = share(up, upl); r1 = ratio(up, upd); r2 = ratio(up, upb)
  printf "| upload | %s | %s | %s | %s | %s | %s | %s | >= 85%% of limit; >= 2x go-mega | limit: %s; default: %s, best: %s |\n", fmt_rate(up), fmt_rate(upl), fmt_share(s1), fmt_rate(upd), fmt_rate(upb), fmt_ratio(r1), fmt_ratio(r2), yesno(s1 >= 85), yesno(r1 >= 2), yesno(r2 >= 2)
  s1 = share(dn, dnl); r1 = ratio(dn, dnd); r2 = ratio(dn, dnb)
  printf "| download | %s | %s | %s | %s | %s | %s | %s | >= 85%% of limit; >= 1.5x go-mega | limit: %s; default: %s, best: %s |\n", fmt_rate(dn), fmt_rate(dnl), fmt_share(s1), fmt_rate(dnd), fmt_rate(dnb), fmt_ratio(r1), fmt_ratio(r2), yesno(s1 >= 85), yesno(r1 >= 1.5), yesno(r2 >= 1.5)
  printf "| cbcmac: AES-CBC(-MAC), 1 core, 1 MiB buffers | %s | | | | | | | (machine rate) | |\n", fmt_rate(mac)
  pct = (mac > 0) ? 100 * up / mac : 0
  printf "| ferry upload as %% of the cbcmac rate | %.0f%% | | | | | | | >= 70%% on 2 cores | %s |\n", pct, yesno(pct >= 70)
  if (nrss > 0) {
    mib = rssbytes / 1048576
    printf "| peak RSS, %d MiB upload (ferry client process) | %.0f MiB | | | | | | | < 100 MiB | %s |\n", mib, rss["upload"] / 1024, yesno(rss["upload"] > 0 && rss["upload"] < 102400)
    printf "| peak RSS, %d MiB download to io.Discard | %.0f MiB | | | | | | | < 100 MiB | %s |\n", mib, rss["download"] / 1024, yesno(rss["download"] > 0 && rss["download"] < 102400)
  }
  printf "\n"
  if (nrss > 0)
    printf "Peak RSS is the VmHWM of a child process (the re-executed test binary) that resumes a session and streams the file with default options while the server runs in the parent; idle baseline of such a process %.0f MiB; upload took %ss, download %ss. ru_maxrss from ProcessState.SysUsage(): upload %.0f MiB, download %.0f MiB (on Linux it cannot go below the parent'"'"'s peak, %.0f MiB, because Go starts children with vfork).\n\n", rss["idle"] / 1024, rsssecs["upload"], rsssecs["download"], maxrss["upload"] / 1024, maxrss["download"] / 1024, parent["download"] / 1024
  printf "<details><summary>every run (MB/s)</summary>\n\n"
  for (i = 1; i <= norder; i++) printf "- %s:%s\n", order[i], runs[order[i]]
  printf "\n</details>\n\n"
  printf "Commands: `%s` and `%s`.\n", bench_cmd, rss_cmd
}
' "$out/bench.txt" "$out/rss.txt"

#!/usr/bin/env bash
# cli.sh: ferry's command-line binary vs go-mega on one loopback MEGA server:
# listing a big tree (cold and warm) and copying many small files up, as a
# markdown table.
#
# Needs only Go (and bash, awk). Builds ./cmd/ferry, then runs, from the
# repository root:
#
#   FERRY_BENCH_CLI=1 FERRY_BENCH_BIN=<built> go test -run 'TestBenchListing|TestBenchSmallFiles' -count=1 -v ./bench/
#
# Environment:
#   FERRY_BENCH_CLI_COUNT    runs of each contender (default 3); the table shows medians
#   FERRY_BENCH_NODES        tree size of the listing benchmark (default 100000)
#   FERRY_BENCH_SMALL_FILES  files of the small-files benchmark (default 1000)
#   FERRY_BENCH_KEEP=DIR     keep the raw go test output in DIR
#
# Temporary files go to /dev/shm when it exists (TMPDIR), so the server's
# fsyncs cost nothing and the clients are what is measured. The numbers are
# only meaningful on an otherwise idle machine: clients and server share its
# cores.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${FERRY_BENCH_KEEP:-$(mktemp -d)}
mkdir -p "$out"
[ -n "${FERRY_BENCH_KEEP:-}" ] || trap 'rm -rf "$out"' EXIT
if [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi

go build -o "$out/ferry" ./cmd/ferry
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
cmd="FERRY_BENCH_CLI=1 go test -run 'TestBenchListing|TestBenchSmallFiles' -count=1 -v ./bench/"
echo "+ $cmd" >&2
FERRY_BENCH_CLI=1 FERRY_BENCH_BIN="$out/ferry" \
  go test -run 'TestBenchListing|TestBenchSmallFiles' -count=1 -timeout 60m -v ./bench/ | tee "$out/cli.txt" >&2

cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
awk -v cores="$cores" -v load="$load_before" -v cmd="bench/cli.sh (runs $cmd)" '
function median(s,    a, n, i, j, t) {
  n = split(s, a, " ")
  if (n == 0) return 0
  for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j+1] = a[j]; a[j+1] = t }
  return (n % 2) ? a[(n+1)/2] + 0 : (a[n/2] + a[n/2+1]) / 2
}
function kv(line, key,    i, f, n, p) {
  n = split(line, f, " ")
  for (i = 1; i <= n; i++) { split(f[i], p, "="); if (p[1] == key) return p[2] }
  return ""
}
function yesno(ok) { return ok ? "yes" : "**no**" }
function ms(s) { return sprintf("%.0f", s * 1000) }
/LISTING tool=/ {
  t = kv($0, "tool"); nodes = kv($0, "nodes")
  lsec[t] = lsec[t] " " kv($0, "seconds"); lrss[t] = lrss[t] " " kv($0, "maxrss_kib"); lruns[t]++
}
/SMALLFILES tool=/ {
  t = kv($0, "tool"); files = kv($0, "files"); bytes = kv($0, "bytes")
  ssec[t] = ssec[t] " " kv($0, "seconds"); sruns[t]++
  if (!(t in sseen)) { sorder[++ns] = t; sseen[t] = 1 }
}
END {
  printf "### ferry CLI vs go-mega, one loopback MEGA server\n\n"
  printf "%s cores, load average before the run: %s. Medians of %d runs; every run in the details.\n\n", cores, load, lruns["gomega"]
  if (lruns["gomega"] > 0) {
    g = median(lsec["gomega"]); c = median(lsec["ferry-cold"]); w = median(lsec["ferry-warm"])
    gr = median(lrss["gomega"]); cr = median(lrss["ferry-cold"]); wr = median(lrss["ferry-warm"])
    printf "Listing a tree of %d nodes (folders of 100 entries; folders only). go-mega = `Login` (login + full fetch, what rclone does on every command) in a child process; ferry = `ferry lsf -R m:`, every node printed and counted.\n\n", nodes
    printf "| contender | wall ms | peak RSS MiB |\n|---|---:|---:|\n"
    printf "| go-mega Login + fetch | %s | %.0f |\n", ms(g), gr / 1024
    printf "| ferry cold (empty --cache-dir) | %s | %.0f |\n", ms(c), cr / 1024
    printf "| ferry warm (cached session + tree) | %s | %.0f |\n\n", ms(w), wr / 1024
    printf "| ratio | value | target | met |\n|---|---:|---|---|\n"
    printf "| warm / go-mega (time) | %.1f%% | <= 10%% | %s |\n", 100 * w / g, yesno(w <= 0.10 * g)
    printf "| cold / go-mega (time) | %.2f | <= 1.0 | %s |\n", c / g, yesno(c <= g)
    printf "| cold RSS / go-mega RSS | %.2f | <= 1.0 | %s |\n", cr / gr, yesno(cr <= gr)
    printf "| warm RSS / go-mega RSS | %.2f | (info) | |\n\n", wr / gr
  }
  if (sruns["gomega"] > 0) {
    g = median(ssec["gomega"])
    printf "Copying %d files (1-64 KiB, %.1f MiB in all, 10 folders) to a fresh remote folder. go-mega = one Login, CreateDir, then sequential UploadFile; ferry = `ferry copy SRC m:dst --transfers N` (4 = default).\n\n", files, bytes / 1048576
    printf "| contender | wall s | files/s | speed-up vs go-mega | target | met |\n|---|---:|---:|---:|---|---|\n"
    for (i = 1; i <= ns; i++) {
      t = sorder[i]; s = median(ssec[t])
      if (t == "gomega") printf "| go-mega sequential | %.2f | %.0f | 1.00x | | |\n", s, files / s
      else printf "| ferry copy --transfers %s | %.2f | %.0f | %.2fx | >= 3x | %s |\n", substr(t, 8), s, files / s, g / s, yesno(g / s >= 3)
    }
    printf "\n"
  }
  printf "<details><summary>every run (seconds; listing RSS KiB)</summary>\n\n"
  for (t in lsec) printf "- listing %s:%s (RSS KiB:%s)\n", t, lsec[t], lrss[t]
  for (i = 1; i <= ns; i++) printf "- small files %s:%s\n", sorder[i], ssec[sorder[i]]
  printf "\n</details>\n\nCommand: `%s`.\n", cmd
}
' "$out/cli.txt"

#!/usr/bin/env bash
# mount.sh: `ferry mount` (the built binary, a real FUSE mount) on one
# loopback MEGA server against what a user does without it, as a markdown
# table: (a) sequential read of a big file vs `ferry cat`; (b) 200 random
# 4 KiB reads (O_DIRECT, fixed seed): latency and bytes the server sent,
# vs the whole-file-on-open way of MegaFS; (c) `cp -r` of 1,000 small files
# into the mount vs `ferry copy`; (d) untarring a Go source tree into the
# mount vs into a local folder. See TestBenchMount in bench/mount_test.go.
#
# Needs Go, FUSE (/dev/fuse, fusermount3), root or a user allowed to mount,
# dd, tar, cp, bash and awk. Builds ./cmd/ferry, then runs, from the
# repository root:
#
#   FERRY_BENCH_MOUNT=1 FERRY_BENCH_BIN=<built> go test -run '^TestBenchMount$' -count=1 -v ./bench/
#
# Environment:
#   FERRY_BENCH_COUNT         runs of each measure (default 1); with more, the
#                             table shows medians and the details every run
#   FERRY_BENCH_MOUNT_SIZE    size of the big file of (a) and (b) (default 1G)
#   FERRY_BENCH_MOUNT_TREE    subtrees of $(go env GOROOT)/src tarred for (d)
#                             (default "cmd go": 4,909 files with Go 1.26)
#   FERRY_BENCH_MOUNT_ONLY    the measures to run, of "seq rand small untar"
#                             (default all), e.g. "seq rand" after read-path work
#   FERRY_BENCH_MOUNT_WATCHDOG  lifetime of one mount before its FUSE
#                             connection is aborted and ferry killed (default 15m)
#   FERRY_BENCH_DIR           where the server data, the big file's MegaFS
#                             copy, the small files, the tar and the local
#                             untar go (default /dev/shm)
#   FERRY_BENCH_KEEP=DIR      keep the binary and the raw go test output in DIR
#   FERRY_BENCH_MOUNT_RAW=FILE  run nothing: print the table of a kept mount.txt
#
# Mountpoints and the mounts' cache dirs go to /dev/shm when it exists
# (TMPDIR), so fsyncs cost nothing on either side and the clients are what
# is measured. Every run uses a fresh mount with an empty cache dir, so no
# page or block cache serves a read twice. Before the first run of (a) the
# big file is read once through a mount, untimed: a VM's first touch of
# memory it never used is slow, and the page cache takes fresh memory. The numbers are only meaningful
# on an otherwise idle machine: clients, FUSE and server share its cores.
# The header shows the load average before and after the run. A file
# missing on the server after (c) or (d) fails the test; the table still
# prints, with the loss in the met column, and the script exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."

count=${FERRY_BENCH_COUNT:-1}
out=${FERRY_BENCH_KEEP:-$(mktemp -d)}
mkdir -p "$out"
[ -n "${FERRY_BENCH_KEEP:-}" ] || trap 'rm -rf "$out"' EXIT
if [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi

cmd="FERRY_BENCH_MOUNT=1 FERRY_BENCH_COUNT=$count go test -run '^TestBenchMount\$' -count=1 -v ./bench/"
status=0
if [ -n "${FERRY_BENCH_MOUNT_RAW:-}" ]; then
  cp "$FERRY_BENCH_MOUNT_RAW" "$out/mount.txt"
  load_before="? (table from $FERRY_BENCH_MOUNT_RAW)"; load_after="?"
else
  go build -o "$out/ferry" ./cmd/ferry
  load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
  echo "+ $cmd" >&2
  FERRY_BENCH_MOUNT=1 FERRY_BENCH_COUNT="$count" FERRY_BENCH_BIN="$out/ferry" \
    go test -run '^TestBenchMount$' -count=1 -timeout 120m -v ./bench/ | tee "$out/mount.txt" >&2 || status=$?
  load_after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
fi

cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || echo "?")
awk -v cores="$cores" -v cpu="$cpu" -v load="$load_before" -v load_after="$load_after" \
    -v kernel="$(uname -r)" -v gover="$(go env GOVERSION)" -v cmd="bench/mount.sh (runs $cmd)" '
function median(s,    a, n, i, j, t) {
  n = split(s, a, " ")
  if (n == 0) return 0
  for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j+1] = a[j]; a[j+1] = t }
  return (n % 2) ? a[(n+1)/2] + 0 : (a[n/2] + a[n/2+1]) / 2
}
# kv returns the value of key in a line of key=value fields ("" if none).
function kv(line, key,    i, f, n, p) {
  n = split(line, f, " ")
  for (i = 1; i <= n; i++) { p = index(f[i], "="); if (p > 0 && substr(f[i], 1, p - 1) == key) return substr(f[i], p + 1) }
  return ""
}
function yesno(ok) { return ok ? "yes" : "**no**" }
# met_lost is yesno(ok), or a no naming the files lost in all runs of k.
function met_lost(ok, k, base,    n) {
  n = lost[k] + lost[base]
  return n > 0 ? sprintf("**no: %d files lost** (%s)", n, ok ? "time met" : "time missed") : yesno(ok)
}
# lost_only names the files lost in all runs of k (a row without a target).
function lost_only(k) { return lost[k] > 0 ? sprintf("**no: %d files lost**", lost[k]) : "" }
function pct(v) { return sprintf(v < 0.1 ? "%.1f%%" : "%.0f%%", 100 * v) }
function mib(b) { return sprintf("%.2f MiB", b / 1048576) }
function human(b) { return (b >= 1073741824 && b % 1073741824 == 0) ? sprintf("%d GiB", b / 1073741824) : sprintf("%d MiB", b / 1048576) }
/MOUNTBENCH / {
  line = substr($0, index($0, "MOUNTBENCH ") + 11)
  m = kv(line, "measure"); t = kv(line, "tool"); k = m "/" t
  runs[k]++
  split("seconds first_ms p50_ms p99_ms fetched requests", fields, " ")
  for (i in fields) { v = kv(line, fields[i]); if (v != "") val[k, fields[i]] = val[k, fields[i]] " " v }
  lost[k] += kv(line, "lost")
  if (m == "seq") seqbytes = kv(line, "bytes")
  if (m == "small") { sfiles = kv(line, "files"); sbytes = kv(line, "bytes") }
  if (m == "untar") { ufiles = kv(line, "files"); tree = kv(line, "tree"); gsub(/,/, ", ", tree) }
  if (m == "rand" && t == "mount") { reads = kv(line, "reads"); direct = kv(line, "direct") }
  details[++nd] = line
}
function med(k, f) { return median(val[k, f]) }
END {
  n = runs["seq/mount"]
  printf "### ferry mount, one loopback MEGA server\n\n"
  printf "%s, %s cores, Linux %s, %s; load average before the run: %s, after: %s. ", cpu, cores, kernel, gover, load, load_after
  if (n > 1) printf "Medians of %d runs; every run in the details.\n\n", n
  else printf "One run.\n\n"
  printf "| measure | ferry mount | baseline | ratio | target | met |\n|---|---:|---:|---:|---|---|\n"
  if (n > 0) {
    mt = med("seq/mount", "seconds"); ct = med("seq/cat", "seconds")
    mr = seqbytes / mt / 1e6; cr = seqbytes / ct / 1e6
    printf "| (a) sequential read of %s: `dd bs=1M` through a fresh mount vs `ferry cat` to /dev/null, MB/s | %.0f | %.0f | %s | >= 80%% | %s |\n", human(seqbytes), mr, cr, pct(mr / cr), yesno(mr >= 0.8 * cr)
    if (runs["seq/mount-dio"] > 0) {
      mr = seqbytes / med("seq/mount-dio", "seconds") / 1e6
      printf "| (a) the same through a `--direct-io` mount (no page cache: one copy into the reader buffer instead of two; small reads are slower), MB/s | %.0f | %.0f | %s | | |\n", mr, cr, pct(mr / cr)
    }
  }
  if (runs["rand/mount"] > 0) {
    a = med("rand/mount", "p50_ms"); b = med("rand/megafs", "p50_ms")
    printf "| (b) %d random 4 KiB reads (O_DIRECT: %s), p50 latency, ms; baseline: MegaFS model (whole file downloaded on open) | %.2f | %.3f | | < 5 ms | %s |\n", reads, direct, a, b, yesno(a < 5)
    a = med("rand/mount", "p99_ms"); b = med("rand/megafs", "p99_ms")
    printf "| (b) p99 latency, ms | %.2f | %.3f | | | |\n", a, b
    a = med("rand/mount", "first_ms"); b = med("rand/megafs", "first_ms")
    printf "| (b) first read latency, ms (MegaFS: the whole download) | %.2f | %.0f | %.0fx faster | | |\n", a, b, b / a
    a = med("rand/mount", "fetched"); b = med("rand/megafs", "fetched")
    printf "| (b) bytes fetched from the server (download requests: %d vs %d) | %s | %s | %s | <= 5 MiB | %s |\n", med("rand/mount", "requests"), med("rand/megafs", "requests"), mib(a), mib(b), sprintf("%.2f%%", 100 * a / b), yesno(a <= 5 * 1048576)
  }
  if (runs["small/mount"] > 0) {
    a = med("small/mount", "seconds"); b = med("small/copy", "seconds")
    printf "| (c) writing %d files of 1-64 KiB (%.1f MiB): `cp -r` into the mount until unmounted (every upload done) vs `ferry copy`; the default: close returns once the file is journalled, its upload starts at once, s | %.2f | %.2f | %s | >= 50%% | %s |\n", sfiles, sbytes / 1048576, a, b, pct(b / a), met_lost(b >= 0.5 * a, "small/mount")
    if (runs["small/mount-off"] > 0) {
      a = med("small/mount-off", "seconds")
      printf "| (c) the same with `--vfs-write-back off` (each close waits for its upload), s | %.2f | %.2f | %s | | %s |\n", a, b, pct(b / a), lost_only("small/mount-off")
    }
    if (runs["small/mount-wb"] > 0) {
      a = med("small/mount-wb", "seconds")
      printf "| (c) the same with `--vfs-write-back 5s` (the rclone default: uploads start 5 s after the close, or at the unmount), s | %.2f | %.2f | %s | | %s |\n", a, b, pct(b / a), lost_only("small/mount-wb")
    }
  }
  if (runs["untar/mount"] > 0) {
    a = med("untar/mount", "seconds"); b = med("untar/local", "seconds")
    printf "| (d) untarring %d files (GOROOT/src: %s): `tar -x` into the mount until unmounted vs into a local folder + `sync -f`, s | %.2f | %.2f | %s | (none) | %s |\n", ufiles, tree, a, b, pct(b / a), (lost["untar/mount"] > 0 ? sprintf("**no: %d files lost**", lost["untar/mount"]) : "")
  }
  printf "\nRatios are the mount'"'"'s speed as a share of the baseline'"'"'s (for (b), bytes: mount / MegaFS). Bytes fetched are the bodies of the server'"'"'s download replies, counted in a proxy between the clients and the server.\n\n"
  printf "<details><summary>every run</summary>\n\n"
  for (i = 1; i <= nd; i++) printf "- %s\n", details[i]
  printf "\n</details>\n\nCommand: `%s`.\n", cmd
}
' "$out/mount.txt"
exit "$status"

#!/usr/bin/env bash
# backup.sh: `ferry backup` against restic and duplicity (the Debian
# packages) on one generated data set, in the same run, as markdown tables
# with ferry/restic ratios and the targets of issue 12 met or missed.
#
# The data set (bench/backupdata, written by bench/cmd/backupdata): 1 GiB
# in 2,000 files, half random and half text (zstd 3-4x), 18% of the files
# byte-identical copies, a tree a few levels deep, files up to 64 MiB.
# Each tool backs it up into a fresh repository of its own, step by step:
#
#   full      first backup (restic: `init` + `backup`; duplicity: `full`;
#             ferry: `backup`, whose first run creates the repository)
#   incr      after 5% of the files changed (appended, edited in the
#             middle, created, deleted: `backupdata -change`)
#   nochange  the same tree again
#   restore   the latest snapshot into an empty directory, then checked
#             against the source (outside the timing): contents with
#             diff -r, and every entry's size, mtime (to the second) and mode
#   verify    restic `check --read-data`; duplicity `verify` (reads every
#             volume, checks the hashes, compares with the source);
#             ferry `backup verify --read-data-subset 100%`
#
# restic and duplicity write to a directory (duplicity through file://);
# ferry to a local remote and, in a second table, to a mega remote served by
# `ferry serve mega` on loopback, whose debug log counts the API commands,
# uploads, downloads and logins of every step. ferry also does
# $FERRY_BENCH_LOGIN_RUNS further no-change backups to the mega remote to
# show how many logins 100 runs make.
#
# duplicity encrypts with GnuPG symmetrically (PASSPHRASE, AES-256 by
# gpg's default, no agent or key ring needed), restic and ferry with their
# own keys derived from a password file, so every tool encrypts.
#
# Per step: wall time, user+sys CPU and peak RSS (/usr/bin/time; RSS of
# the tool's process tree's largest process), stored bytes (du -sb of the
# repository; duplicity's --archive-dir cache and restic's and ferry's
# --cache-dir are client caches and not counted), objects written and
# deleted, and requests. On the directories these come from inotifywait
# on the repository: an object is a file created or renamed into place,
# temporary names renamed away excluded (restic writes NAME-tmp-N then
# renames it); requests are what a remote would see: files opened (a GET
# or a PUT), directories listed and files deleted (stat calls are
# invisible, so this is a lower bound). On mega they come from the server.
#
# Needs bash, awk, Go, GNU time (package `time`), inotifywait (package
# `inotify-tools`), restic (installed with apt-get if missing) and
# duplicity with gpg. Run from anywhere:
#
#   bench/backup.sh
#
# Environment:
#   FERRY_BENCH_COUNT       runs (default 3); each run generates the set
#                           afresh and runs every tool; tables show medians
#   FERRY_BENCH_FILES, FERRY_BENCH_BYTES
#                           size of the set (default 2000 files, 1073741824 bytes)
#   FERRY_BENCH_TOOLS       tools to run (default "restic duplicity ferry ferry-mega")
#   FERRY_BENCH_LOGIN_RUNS  extra no-change backups to mega (default 100; 0 = none)
#   FERRY_BENCH_DIR         where data, repositories and restores go (default
#                           /dev/shm when it has 8 GiB free, so no tool waits
#                           on fsync and CPU is what is measured; else /var/tmp)
#   FERRY_BENCH_KEEP=DIR    keep the raw results and every tool's output in DIR
#   FERRY_BENCH_FERRY=BIN   run this ferry binary instead of building ./cmd/ferry
#   FERRY_BENCH_RAW=DIR     run nothing: print the tables of a FERRY_BENCH_KEEP directory
#
# The numbers are only meaningful on an otherwise idle machine. The header
# shows the load average before and after. A failed step or a restore that
# differs from the source shows in the tables and makes the exit status 1;
# a ferry without the backup commands is skipped with a message (exit 0).
set -euo pipefail
cd "$(dirname "$0")/.."
repo_root=$(pwd)

count=${FERRY_BENCH_COUNT:-3}
files=${FERRY_BENCH_FILES:-2000}
bytes=${FERRY_BENCH_BYTES:-1073741824}
tools=${FERRY_BENCH_TOOLS:-restic duplicity ferry ferry-mega}
login_runs=${FERRY_BENCH_LOGIN_RUNS:-100}
password=ferry-bench-password

# render prints the tables from $out/results.txt and the variables of
# $out/meta.env; its exit status is 1 if a step failed or a restore
# differed.
render() {
awk -v count="$count" -v cores="$cores" -v load="$load_before" -v load_after="$load_after" \
    -v dataset="$(cat "$out/dataset.txt")" -v change="$(cat "$out/change.txt" 2>/dev/null)" -v where="$parent" \
    -v restic_version="$restic_version" -v duplicity_version="$duplicity_version" -v ferry_version="$ferry_version" \
    -v ferry_ok="$ferry_ok" -v ferry_why="$ferry_why" -v login_runs="$login_runs" '
function median(s,    a, n, i, j, t) {
  n = split(s, a, " ")
  if (n == 0) return ""
  for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j+1] = a[j]; a[j+1] = t }
  return (n % 2) ? a[(n+1)/2] + 0 : (a[n/2] + a[n/2+1]) / 2
}
function kv(line, key,    i, f, n, p) {
  n = split(line, f, " ")
  for (i = 1; i <= n; i++) { split(f[i], p, "="); if (p[1] == key) return p[2] }
  return ""
}
function m(tool, step, key) { return median(v[tool, step, key]) }
function has(tool, step) { return (tool, step, "wall") in v }
function ratio(a, b) { return (a != "" && b != "" && b > 0) ? sprintf("%.2f", a / b) : "n/a" }
function met(ok) { return ok ? "met" : "**missed**" }
function self(tool, step) { return (has(tool, step) && (tool, step, "self_written") in v) ? sprintf(" (ferry says %s, %s requests)", m(tool, step, "self_written"), m(tool, step, "self_requests")) : "" }
function mib(b) { return (b == "") ? "n/a" : sprintf("%.1f", b / 1048576) }
/^RESULT / {
  t = kv($0, "tool"); s = kv($0, "step")
  split("load rc wall cpu rss_kib stored written deleted requests uploads downloads logins self_written self_requests", keys, " ")
  for (k in keys) { x = kv($0, keys[k]); if (x != "") v[t, s, keys[k]] = v[t, s, keys[k]] " " x }
  if (kv($0, "rc") != 0) failed[t, s] = 1
  if (kv($0, "load") + 0 > maxload) maxload = kv($0, "load") + 0
}
/^RESTORE / { if (kv($0, "ok") != 1) bad[kv($0, "tool")] = 1 }
/^LOGINS / { lr = lr " " kv($0, "logins"); lfail += kv($0, "failed"); lreq = lreq " " kv($0, "requests") }
END {
  nsteps = split("full incr nochange restore verify", steps, " ")
  printf "### ferry backup vs restic %s and duplicity %s\n\n", restic_version, duplicity_version
  printf "Data set: %s; then `backupdata -change`: %s. %s cores; load average before: %s, after: %s; repositories and restores in %s. Median of %d run(s); every run in the details.\n\n", dataset, change, cores, load, load_after, where, count
  split(load, la, " "); split(load_after, lb, " ")
  if (la[1] > cores || lb[1] > cores || maxload > cores)
    printf "**The machine was busy** (a 1-minute load average above %s, the number of cores, before a step: up to %s): wall times are inflated and noisy; CPU times (user+sys) and the counts are not.\n\n", cores, maxload
  if (!ferry_ok) printf "**ferry skipped:** %s. The ferry rows and ratios appear once the commands exist.\n\n", ferry_why
  printf "Local repository (restic: directory; duplicity: file://, GnuPG symmetric; ferry: local remote). Requests = files opened + directories listed + files deleted in the repository (inotify), a lower bound of what a remote would see.\n\n"
  printf "| step | tool | wall s | CPU s | peak RSS MiB | stored MiB | objects written | objects deleted | requests | wall / restic | CPU / restic | RSS / restic |\n"
  printf "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
  ntools = split("restic duplicity ferry", tl, " ")
  for (i = 1; i <= nsteps; i++) {
    s = steps[i]
    for (j = 1; j <= ntools; j++) {
      t = tl[j]
      if (!has(t, s)) continue
      mark = ((t, s) in failed) ? " (**failed**)" : ""
      if (s == "restore" && (t in bad)) mark = mark " (**differs**)"
      printf "| %s | %s%s | %.1f | %.1f | %.0f | %s | %s | %s | %s | %s | %s | %s |\n", s, t, mark, m(t, s, "wall"), m(t, s, "cpu"), m(t, s, "rss_kib") / 1024,
        mib(m(t, s, "stored")), m(t, s, "written"), m(t, s, "deleted"), m(t, s, "requests"),
        ratio(m(t, s, "wall"), m("restic", s, "wall")), ratio(m(t, s, "cpu"), m("restic", s, "cpu")), ratio(m(t, s, "rss_kib"), m("restic", s, "rss_kib"))
    }
  }
  printf "\n"
  if (has("ferry-mega", "full")) {
    printf "ferry to a mega remote (`ferry serve mega` on loopback; counts from its debug log: API commands, of them `p` = nodes written, `d` = deleted, `u` = upload slots, `g` = downloads, `us` = logins; stored = growth of the server data directory).\n\n"
    printf "| step | wall s | CPU s | peak RSS MiB | stored MiB | objects written | objects deleted | API commands | uploads | downloads | logins | wall / restic (local) |\n"
    printf "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    for (i = 1; i <= nsteps; i++) {
      s = steps[i]; t = "ferry-mega"
      if (!has(t, s)) continue
      mark = ((t, s) in failed) ? " (**failed**)" : ""
      if (s == "restore" && (t in bad)) mark = mark " (**differs**)"
      printf "| %s%s | %.1f | %.1f | %.0f | %s | %s | %s | %s | %s | %s | %s | %s |\n", s, mark, m(t, s, "wall"), m(t, s, "cpu"), m(t, s, "rss_kib") / 1024,
        mib(m(t, s, "stored")), m(t, s, "written"), m(t, s, "deleted"), m(t, s, "requests"), m(t, s, "uploads"), m(t, s, "downloads"), m(t, s, "logins"),
        ratio(m(t, s, "wall"), m("restic", s, "wall"))
    }
    if (lr != "") printf "\n%s further no-change backups to the mega remote: %s login(s) (median), %s API commands in all, %d failed.\n", login_runs, median(lr), median(lreq), lfail
    printf "\n"
  }
  printf "| target (issue 12) | value | result |\n|---|---:|---|\n"
  if (has("ferry", "full") && has("restic", "full")) {
    r = m("ferry", "full", "wall") / m("restic", "full", "wall")
    printf "| full backup time <= 0.8x restic | %.2fx | %s |\n", r, met(r <= 0.8)
    r = m("ferry", "incr", "wall") / m("restic", "incr", "wall")
    printf "| incremental time <= restic | %.2fx | %s |\n", r, met(r <= 1)
    r = m("ferry", "restore", "wall") / m("restic", "restore", "wall")
    printf "| restore time <= restic | %.2fx | %s |\n", r, met(r <= 1 && !("ferry" in bad))
    r = m("ferry", "nochange", "stored") / m("restic", "nochange", "stored")
    printf "| stored bytes <= 1.05x restic (after the three backups) | %.3fx | %s |\n", r, met(r <= 1.05)
    fr = 0; rr = 0
    for (i = 1; i <= nsteps; i++) { s = steps[i]; if (m("ferry", s, "rss_kib") > fr) fr = m("ferry", s, "rss_kib"); if (m("restic", s, "rss_kib") > rr) rr = m("restic", s, "rss_kib") }
    printf "| peak RSS <= restic (largest of all steps) | %.0f vs %.0f MiB | %s |\n", fr / 1024, rr / 1024, met(fr <= rr)
    w = m("ferry", "incr", "written")
    printf "| a small (5%%) incremental writes <= 4 objects | %s%s | %s |\n", w, self("ferry", "incr"), met(w <= 4)
    w = m("ferry", "nochange", "written")
    printf "| a no-change run writes 0 objects | %s%s | %s |\n", w, self("ferry", "nochange"), met(w == 0)
    if (has("ferry-mega", "nochange")) {
      w = m("ferry-mega", "nochange", "written") + m("ferry-mega", "nochange", "uploads")
      printf "| a no-change run writes 0 objects (mega: `p` + `u`) | %s | %s |\n", w, met(w == 0)
    }
  } else {
    printf "| full backup time <= 0.8x restic | n/a | not measured (ferry skipped) |\n"
    printf "| incremental time <= restic | n/a | not measured |\n"
    printf "| restore time <= restic | n/a | not measured |\n"
    printf "| stored bytes <= 1.05x restic | n/a | not measured |\n"
    printf "| peak RSS <= restic | n/a | not measured |\n"
    printf "| a small incremental writes <= 4 objects | n/a | not measured (restic: %s, duplicity: %s) |\n", m("restic", "incr", "written"), m("duplicity", "incr", "written")
    printf "| a no-change run writes 0 objects | n/a | not measured (restic: %s, duplicity: %s) |\n", m("restic", "nochange", "written"), m("duplicity", "nochange", "written")
  }
  if (lr != "") {
    total = median(lr)
    for (i = 1; i <= nsteps; i++) total += m("ferry-mega", steps[i], "logins")
    printf "| %d backups (and a restore and a verify) to a mega remote make 1 login | %s | %s |\n", login_runs + 3, total, met(total <= 1 && lfail == 0)
  } else
    printf "| 100 backups to a mega remote make 1 login | n/a | not measured |\n"
  printf "\n<details><summary>every run (wall s; stored bytes; objects written; 1-minute load average before the step)</summary>\n\n"
  ntools = split("restic duplicity ferry ferry-mega", tl, " ")
  for (i = 1; i <= nsteps; i++)
    for (j = 1; j <= ntools; j++)
      if (has(tl[j], steps[i])) printf "- %s %s:%s;%s;%s;%s\n", steps[i], tl[j], v[tl[j], steps[i], "wall"], v[tl[j], steps[i], "stored"], v[tl[j], steps[i], "written"], v[tl[j], steps[i], "load"]
  printf "\n</details>\n\nCommand: `FERRY_BENCH_COUNT=%d bench/backup.sh`; restic %s, duplicity %s, ferry %s.\n", count, restic_version, duplicity_version, ferry_version
  for (k in failed) exitcode = 1
  for (k in bad) exitcode = 1
  exit exitcode
}
' "$out/results.txt"
}

if [ -n "${FERRY_BENCH_RAW:-}" ]; then
  out=$FERRY_BENCH_RAW
  # shellcheck source=/dev/null
  . "$out/meta.env"
  render
  exit
fi

if [ -n "${FERRY_BENCH_DIR:-}" ]; then
  parent=$FERRY_BENCH_DIR
elif [ -d /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR == 2 {print $4}')" -gt $((8 << 20)) ]; then
  parent=/dev/shm
else
  parent=/var/tmp
fi
mkdir -p "$parent"
work=$(mktemp -d "$parent/ferry-backup-bench.XXXXXX")
out=${FERRY_BENCH_KEEP:-$work/out}
mkdir -p "$out"
watch_pid=
cleanup() {
  [ -z "$watch_pid" ] || kill "$watch_pid" 2>/dev/null || true
  [ -z "${server_pid:-}" ] || kill "$server_pid" 2>/dev/null || true
  rm -rf "${work:?}"
}
trap cleanup EXIT

log() { echo "backup.sh: $*" >&2; }

# Tools.
if ! command -v restic >/dev/null; then
  log "installing restic"
  DEBIAN_FRONTEND=noninteractive apt-get install -y restic >&2
fi
[ -x /usr/bin/time ] || { log "installing GNU time"; DEBIAN_FRONTEND=noninteractive apt-get install -y time >&2; }
command -v inotifywait >/dev/null || { log "installing inotify-tools"; DEBIAN_FRONTEND=noninteractive apt-get install -y inotify-tools >&2; }
command -v duplicity >/dev/null || { log "duplicity is missing (apt-get install duplicity)"; exit 1; }
restic_version=$(restic version | awk '{print $2}')
duplicity_version=$(duplicity --version | awk '{print $2}')

go build -o "$work/backupdata" ./bench/cmd/backupdata
if [ -n "${FERRY_BENCH_FERRY:-}" ]; then
  ferry_bin=$FERRY_BENCH_FERRY
  ferry_prebuilt=1
else
  go build -o "$work/ferry" ./cmd/ferry
  ferry_bin=$work/ferry
fi
ferry_version=$(git -C "$repo_root" describe --always --dirty 2>/dev/null || echo "?")
[ -z "${ferry_prebuilt:-}" ] || ferry_version="$ferry_bin (prebuilt)"
ferry_ok=1
ferry_why=
if ! "$ferry_bin" backup --help >"$work/backup-help.txt" 2>&1 || ! grep -q verify "$work/backup-help.txt" ||
   ! "$ferry_bin" restore --help >/dev/null 2>&1; then
  ferry_ok=0
  ferry_why="this ferry ($ferry_version) has no \`ferry backup\` / \`ferry restore\` / \`ferry backup verify\` yet"
  log "skipping ferry: $ferry_why"
fi
want() { case " $tools " in *" $1 "*) [ "$1" = "${1#ferry}" ] || [ "$ferry_ok" = 1 ];; *) false;; esac; }

echo "$password" >"$work/password"
export RESTIC_PASSWORD_FILE=$work/password
export PASSPHRASE=$password

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
results=$out/results.txt
: >"$results"

# watch_start DIR LOG starts inotifywait on DIR (recursively) writing
# events to LOG, and returns once its watches are in place.
watch_start() {
  inotifywait -m -r -e create -e moved_to -e moved_from -e delete -e open --format '%e %w%f' "$1" >"$2" 2>"$2.err" &
  watch_pid=$!
  for _ in $(seq 600); do
    grep -q "Watches established" "$2.err" 2>/dev/null && return 0
    sleep 0.05
  done
  log "inotifywait did not start on $1"; return 1
}

watch_stop() {
  sleep 0.2
  kill "$watch_pid" 2>/dev/null || true
  wait "$watch_pid" 2>/dev/null || true
  watch_pid=
}

# watch_counts LOG prints "written=N deleted=N requests=N" from an
# inotifywait log (see the header).
watch_counts() {
  awk '
    $1 ~ /ISDIR/ { if ($1 ~ /^OPEN/ && $2 ~ /\/$/) lists++; next }
    $1 == "CREATE" || $1 == "MOVED_TO" { made[$2] = 1 }
    $1 == "MOVED_FROM" { tmp[$2] = 1 }
    $1 == "DELETE" { deleted++ }
    $1 == "OPEN" { opens++ }
    END {
      for (n in made) if (!(n in tmp)) written++
      printf "written=%d deleted=%d requests=%d", written, deleted, opens + lists + deleted
    }' "$1"
}

# server_counts FROM TO prints the API commands of the mega server's log
# between two line numbers.
server_counts() {
  sed -n "$(($1 + 1)),$2p" "$server_log" | awk '
    / msg=command / || / : command cmd=/ {
      for (i = 1; i <= NF; i++) if ($i ~ /^cmd=/) c = substr($i, 5)
      cmds++; n[c]++
    }
    END { printf "written=%d deleted=%d requests=%d uploads=%d downloads=%d logins=%d", n["p"], n["d"], cmds, n["u"], n["g"], n["us"] }'
}

# measure TOOL STEP REPO CMD... runs CMD under /usr/bin/time with REPO
# watched (or counted at the server for ferry-mega) and appends one
# RESULT line to the results.
measure() {
  local tool=$1 step=$2 repo=$3
  shift 3
  local tag=$out/run$run-$tool-$step
  local before after counts rc=0 stored load0
  load0=$(cut -d' ' -f1 /proc/loadavg)
  if [ "$tool" = ferry-mega ]; then
    before=$(wc -l <"$server_log")
  else
    mkdir -p "$repo"
    find "$repo" -type f | sort >"$tag.before"
    watch_start "$repo" "$tag.events"
  fi
  /usr/bin/time -f "%e %U %S %M" -o "$tag.time" "$@" >"$tag.out" 2>"$tag.err" || rc=$?
  if [ "$tool" = ferry-mega ]; then
    sleep 0.2
    after=$(wc -l <"$server_log")
    counts=$(server_counts "$before" "$after")
    stored=$(( $(du -sb "$server_data" | cut -f1) - server_base ))
  else
    watch_stop
    counts=$(watch_counts "$tag.events")
    find "$repo" -type f | sort >"$tag.after"
    local added
    added=$(comm -13 "$tag.before" "$tag.after" | wc -l)
    # inotify can miss a file created right after its directory; what
    # the listing shows new is a floor.
    counts=$(echo "$counts" | awk -v added="$added" '{ split($1, w, "="); if (w[2] < added) $1 = "written=" added; print }')
    stored=$(du -sb "$repo" | cut -f1)
  fi
  [ "$rc" = 0 ] || log "$tool $step failed (exit $rc): $(tail -3 "$tag.err" | tr '\n' ' ')"
  read -r wall user sys rss < <(tail -1 "$tag.time")
  # ferry's own count of what it wrote and asked for (its statistics
  # block), to set beside what the repository or the server saw.
  counts="$counts $(awk '/^ObjectsWritten [0-9]/ { w = " self_written=" $2 } /^Requests [0-9]/ { r = " self_requests=" $2 } END { printf "%s%s", w, r }' "$tag.out")"
  echo "RESULT run=$run tool=$tool step=$step load=$load0 rc=$rc wall=$wall cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}') rss_kib=$rss stored=$stored $counts" | tee -a "$results" >&2
}

# tree_meta DIR lists every entry under DIR with its type, size (files
# only: a directory's size depends on the file system), mtime and mode.
tree_meta() {
  (cd "$1" && find . -mindepth 1 -printf '%P %y %s %TY-%Tm-%Td %TH:%TM:%.2TS %m\n') | awk '$2 == "d" { $3 = "-" } 1' | sort
}

# check_restore TOOL DIR compares a restore with the source: contents
# (diff -r) and each file's and directory's size, modification time (to
# the second) and mode. The source tree is DIR itself or DIR followed by
# the source's absolute path (restic and ferry may keep it).
check_restore() {
  local tool=$1 dir=$2 got=$2 ok=1 diffs=$out/run$run-$1-restore.diff
  [ ! -d "$dir$src" ] || got=$dir$src
  if ! diff -r -q "$src" "$got" >"$diffs" 2>&1; then
    ok=0
    log "$tool restore differs from the source: $(head -3 "$diffs" | tr '\n' ' ')"
  elif ! diff <(tree_meta "$src") <(tree_meta "$got") >"$diffs" 2>&1; then
    ok=0
    log "$tool restore has other times, sizes or modes than the source: $(head -2 "$diffs" | tr '\n' ' ')"
  fi
  echo "RESTORE run=$run tool=$tool ok=$ok" | tee -a "$results" >&2
  rm -rf "$dir"
}

start_mega() {
  server_data=$rundir/megaserver
  server_log=$rundir/megaserver.log
  local port
  port=$(( 20000 + RANDOM % 20000 ))
  FERRY_PASSWORD=$password "$ferry_bin" serve mega adduser --data "$server_data" bench@example.com >/dev/null
  "$ferry_bin" -vv serve mega --listen "127.0.0.1:$port" --data "$server_data" >"$server_log.out" 2>"$server_log" &
  server_pid=$!
  for _ in $(seq 100); do
    grep -q "MEGA API on" "$server_log.out" 2>/dev/null && break
    sleep 0.1
  done
  grep -q "MEGA API on" "$server_log.out" || { log "ferry serve mega did not start: $(cat "$server_log")"; exit 1; }
  "$ferry_bin" --config "$rundir/ferry.conf" config create --obscure m mega \
    user=bench@example.com pass=$password "url=http://127.0.0.1:$port" >/dev/null
  server_base=$(du -sb "$server_data" | cut -f1)
}

stop_mega() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}

for run in $(seq "$count"); do
  rundir=$work/run$run
  src=$rundir/src
  mkdir -p "$rundir"
  log "run $run: generating the data set"
  "$work/backupdata" -files "$files" -bytes "$bytes" "$src" | tee "$out/dataset.txt" >&2
  "$ferry_bin" --config "$rundir/ferry.conf" config create loc local "root=$rundir" >/dev/null
  # The built ferry with the run's config and a cache per remote.
  ferry_local=("$ferry_bin" --config "$rundir/ferry.conf" --cache-dir "$rundir/cache-ferry")
  ferry_mega=("$ferry_bin" --config "$rundir/ferry.conf" --cache-dir "$rundir/cache-ferry-mega")
  if want ferry-mega; then start_mega; fi

  for step in full incr nochange restore verify; do
    if [ "$step" = incr ]; then
      "$work/backupdata" -change -files "$files" -bytes "$bytes" "$src" | tee "$out/change.txt" >&2
    fi
    for tool in $tools; do
      want "$tool" || continue
      case "$tool/$step" in
        restic/full)
          measure restic full "$rundir/restic" sh -c 'restic init -r "$1" --cache-dir "$2" && restic backup -r "$1" --cache-dir "$2" "$3"' \
            sh "$rundir/restic" "$rundir/cache-restic" "$src" ;;
        restic/incr | restic/nochange)
          measure restic "$step" "$rundir/restic" restic backup -r "$rundir/restic" --cache-dir "$rundir/cache-restic" "$src" ;;
        restic/restore)
          measure restic restore "$rundir/restic" restic restore latest -r "$rundir/restic" --cache-dir "$rundir/cache-restic" --target "$rundir/restore-restic"
          check_restore restic "$rundir/restore-restic" ;;
        restic/verify)
          measure restic verify "$rundir/restic" restic check --read-data -r "$rundir/restic" --cache-dir "$rundir/cache-restic" ;;
        duplicity/full)
          measure duplicity full "$rundir/duplicity" duplicity full --archive-dir "$rundir/cache-duplicity" "$src" "file://$rundir/duplicity" ;;
        duplicity/incr | duplicity/nochange)
          measure duplicity "$step" "$rundir/duplicity" duplicity incremental --archive-dir "$rundir/cache-duplicity" "$src" "file://$rundir/duplicity" ;;
        duplicity/restore)
          measure duplicity restore "$rundir/duplicity" duplicity restore --archive-dir "$rundir/cache-duplicity" "file://$rundir/duplicity" "$rundir/restore-duplicity"
          check_restore duplicity "$rundir/restore-duplicity" ;;
        duplicity/verify)
          measure duplicity verify "$rundir/duplicity" duplicity verify --archive-dir "$rundir/cache-duplicity" "file://$rundir/duplicity" "$src" ;;
        ferry/full | ferry/incr | ferry/nochange)
          measure ferry "$step" "$rundir/ferry" "${ferry_local[@]}" backup "$src" loc:ferry --password-file "$work/password" ;;
        ferry/restore)
          measure ferry restore "$rundir/ferry" "${ferry_local[@]}" restore loc:ferry "$rundir/restore-ferry" --password-file "$work/password"
          check_restore ferry "$rundir/restore-ferry" ;;
        ferry/verify)
          measure ferry verify "$rundir/ferry" "${ferry_local[@]}" backup verify loc:ferry --read-data-subset 100% --password-file "$work/password" ;;
        ferry-mega/full | ferry-mega/incr | ferry-mega/nochange)
          measure ferry-mega "$step" - "${ferry_mega[@]}" backup "$src" m:ferry --password-file "$work/password" ;;
        ferry-mega/restore)
          measure ferry-mega restore - "${ferry_mega[@]}" restore m:ferry "$rundir/restore-ferry-mega" --password-file "$work/password"
          check_restore ferry-mega "$rundir/restore-ferry-mega" ;;
        ferry-mega/verify)
          measure ferry-mega verify - "${ferry_mega[@]}" backup verify m:ferry --read-data-subset 100% --password-file "$work/password" ;;
      esac
    done
  done

  if want ferry-mega; then
    if [ "$login_runs" -gt 0 ]; then
      log "run $run: $login_runs no-change backups to the mega remote"
      before=$(wc -l <"$server_log")
      failed=0
      for _ in $(seq "$login_runs"); do
        "${ferry_mega[@]}" backup "$src" m:ferry --password-file "$work/password" >/dev/null 2>&1 || failed=$((failed + 1))
      done
      sleep 0.2
      echo "LOGINS run=$run runs=$login_runs failed=$failed $(server_counts "$before" "$(wc -l <"$server_log")")" | tee -a "$results" >&2
    fi
    stop_mega
  fi
  rm -rf "$rundir"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")

for v in count cores parent login_runs load_before load_after restic_version duplicity_version ferry_version ferry_ok ferry_why; do
  printf '%s=%q\n' "$v" "${!v}"
done >"$out/meta.env"
render

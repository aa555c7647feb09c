package ui

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	tests := []struct{ got, want string }{
		{FormatBytes(0), "0 B"},
		{FormatBytes(1023), "1023 B"},
		{FormatBytes(1536), "1.500 KiB"},
		{FormatBytes(1<<20 - 1), "1023.999 KiB"},
		{FormatBytes(1<<50 - 1), "1.000 PiB"},
		{FormatBytes(1 << 50), "1.000 PiB"},
		{FormatBytes(1<<40 - 1<<30), "1023.000 GiB"},
		{FormatBytes(10 << 20), "10.000 MiB"},
		{FormatBytes(3 << 40), "3.000 TiB"},
		{FormatRate(2048), "2.000 KiB/s"},
		{FormatRate(-1), "-"},
		{FormatDuration(4200 * time.Millisecond), "4.2s"},
		{FormatDuration(3723 * time.Second), "1h2m3s"},
		{FormatDuration(-1), "-"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestWriteStats(t *testing.T) {
	var b bytes.Buffer
	WriteStats(&b, Stats{Bytes: 10 << 10, TotalBytes: 10 << 10, Transfers: 10, TotalTransfers: 10,
		Checks: 5, TotalChecks: 5, Deletes: 2, ElapsedTime: 2, Speed: 5 << 10, ETA: 0})
	want := `Transferred:  10.000 KiB / 10.000 KiB, 100%, 5.000 KiB/s, ETA 0s
Checks:       5 / 5, 100%
Deleted:      2 (files), 0 (dirs)
Transferred:  10 / 10, 100%
Elapsed time: 2.0s
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	WriteStats(&b, Stats{Transfers: 9, TotalTransfers: 10, Errors: 1, LastError: "boom\nbang", Retries: 4, ETA: -1, DryRun: true})
	for _, want := range []string{"Transferred:  9 / 10, 90%", "Errors:       1 (last error: boom bang)\nRetries:      4 (temporary failures tried again)\n", "ETA -", "dry run"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("stats lack %q:\n%s", want, b.String())
		}
	}
}

func TestPrinters(t *testing.T) {
	var out, errb bytes.Buffer
	p := NewPrinter(&out, &errb, false, LevelNotice)
	p.Message(LevelInfo, "a", "hidden")
	p.Message(LevelNotice, "a.txt", "Skipped copy as --dry-run is set")
	p.Message(LevelError, "", "it failed\nbadly")
	p.Result("x\n", nil)
	if got, want := errb.String(), "NOTICE: a.txt: Skipped copy as --dry-run is set\nERROR : it failed badly\n"; got != want {
		t.Errorf("text messages %q, want %q", got, want)
	}
	if out.String() != "x\n" {
		t.Errorf("text result %q", out.String())
	}

	out.Reset()
	errb.Reset()
	p = NewPrinter(&out, &errb, true, LevelInfo)
	p.Message(LevelNotice, "a<b>.txt", "m")
	p.Summary(Stats{Transfers: 3, TotalTransfers: 3, Retries: 2})
	var m jsonMessage
	if err := json.Unmarshal(errb.Bytes(), &m); err != nil || m != (jsonMessage{Level: "notice", Object: "a<b>.txt", Msg: "m"}) {
		t.Errorf("json message %q: %+v %v", errb.String(), m, err)
	}
	var s Stats
	if err := json.Unmarshal(out.Bytes(), &s); err != nil || s.Transfers != 3 || s.Retries != 2 || !strings.Contains(out.String(), `"retries": 2`) {
		t.Errorf("json summary %q: %v", out.String(), err)
	}
}

// lockedBuffer is a goroutine-safe bytes.Buffer.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestProgress(t *testing.T) {
	var buf lockedBuffer
	var calls atomic.Int64
	snap := func() Stats {
		n := calls.Add(1)
		return Stats{Bytes: n, TotalBytes: 100, ETA: -1, Transferring: []InFlight{{Name: "big.bin", Size: 100, Bytes: n, Speed: 1}}}
	}
	p := StartProgress(&buf, snap, ProgressOptions{Force: true, Interval: 5 * time.Millisecond})
	deadline := time.Now().Add(5 * time.Second)
	for calls.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	p.Writer().Write([]byte("a log line\n"))
	p.Stop()
	p.Stop()
	out := buf.String()
	for _, want := range []string{"Transferring:", " * big.bin:", "a log line\n", "\x1b[J"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress output lacks %q:\n%q", want, out)
		}
	}
	if !strings.HasSuffix(out, "\x1b[J") {
		t.Errorf("Stop did not erase the block last: %q", out[max(0, len(out)-40):])
	}

	// Not a terminal, not forced: nothing drawn, Writer passes through.
	var plain bytes.Buffer
	q := StartProgress(&plain, snap, ProgressOptions{})
	q.Writer().Write([]byte("x"))
	q.Stop()
	if plain.String() != "x" {
		t.Errorf("inactive progress wrote %q", plain.String())
	}
}

func TestCut(t *testing.T) {
	if got := cut("abcdef", 4); got != "…ef" {
		t.Errorf("cut = %q", got)
	}
	if got := cut("abc", 0); got != "abc" {
		t.Errorf("cut = %q", got)
	}
}

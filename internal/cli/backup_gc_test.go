package cli

import (
	"runtime/debug"
	"testing"
)

// TestBackupGCTarget: the backup commands run the collector at
// backupGCPercent (their peak RSS depends on it), unless $GOGC is set.
func TestBackupGCTarget(t *testing.T) {
	t.Setenv("GOGC", "")
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	setBackupGC()
	if got := debug.SetGCPercent(100); got != backupGCPercent {
		t.Errorf("GC target %d after setBackupGC, want %d", got, backupGCPercent)
	}
	t.Setenv("GOGC", "300")
	setBackupGC()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC target %d with $GOGC set, want it left alone (100)", got)
	}
}

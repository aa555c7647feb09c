package mega

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"ferry/internal/retry"
	"ferry/mega/megaapi"
	"ferry/megaserver/megaservertest"
)

// TestUploadOverQuotaFatal: an upload the account has no room for fails
// with ErrOverQuota, which reports itself fatal (no retry helps, and the
// backup's pacer stops at once) and keeps MEGA's code.
func TestUploadOverQuotaFatal(t *testing.T) {
	ts := megaservertest.Start(t)
	ts.AddUser(t, "full@example.com", "pw full", megaservertest.UserOpts{QuotaBytes: 1000})
	c := newLoggedInAs(t, ts, testOptions(t, ts), "full@example.com", "pw full")
	_, err := c.Upload(t.Context(), c.Root(), "big", bytes.NewReader(make([]byte, 2000)), 2000, time.Now())
	if !errors.Is(err, ErrOverQuota) {
		t.Fatalf("Upload over quota: %v, want ErrOverQuota", err)
	}
	var f interface{ Fatal() bool }
	if !errors.As(err, &f) || !f.Fatal() {
		t.Errorf("over quota is not fatal: %v", err)
	}
	if retry.IsRetryable(err) {
		t.Errorf("over quota is retryable: %v", err)
	}
	if megaapi.CodeOf(err) != megaapi.EOVERQUOTA {
		t.Errorf("code %v, want EOVERQUOTA", megaapi.CodeOf(err))
	}
}

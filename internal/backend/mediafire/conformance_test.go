package mediafire

import (
	"testing"

	"ferry/internal/backend"
	"ferry/internal/backend/backendtest"
	"ferry/mediafireserver"
	"ferry/mediafireserver/mediafireservertest"
)

// unsupported lists the checks the service cannot pass, and why.
var unsupported = map[string]string{
	"CleanUp": "the API has no call that empties the trash",
}

func TestConformance(t *testing.T) {
	ts := mediafireservertest.Start(t)
	backendtest.Run(t, backendtest.Config{
		New:           func(t *testing.T) backend.Backend { return newTestBackend(t, ts) },
		Unsupported:   unsupported,
		MakeDuplicate: makeDuplicate,
		Corrupt:       corrupter(ts),
	})
}

// faultSpec injects the failures seen in the field at rates high enough
// that every check meets several: lost replies after the key rotated
// (HTML 502 and dropped connections), HTML 500s, error 100, expired
// sessions (105), rate limits (163), poll status 17, fileerror 7 and
// truncated downloads.
const faultSpec = "lost=0.03,drop=0.02,http500=0.02,error100=0.02,ratelimit=0.02,expire=0.02," +
	"upload/poll_upload.status17=0.1,fileerror7=0.05,dl.truncate=0.1,seed=11"

// TestConformanceFaults runs the suite with faults on: retries, re-logins
// and resumed downloads must hide every one of them.
func TestConformanceFaults(t *testing.T) {
	ts := mediafireservertest.Start(t, mediafireservertest.WithFaults(faultSpec))
	backendtest.Run(t, backendtest.Config{
		New:           func(t *testing.T) backend.Backend { return newTestBackend(t, ts) },
		Unsupported:   unsupported,
		MakeDuplicate: makeDuplicate,
		Corrupt:       corrupter(ts),
		Quick:         true,
	})
	hits := ts.Server.FaultHits()
	t.Logf("fault hits: %v", hits)
	for _, k := range []string{"lost", "drop", "http500", "error100", "ratelimit", "expire", "status17", "fileerror7", "truncate"} {
		if hits[mediafireserver.FaultKind(k)] == 0 {
			t.Errorf("fault %s never struck; the run proves nothing about it", k)
		}
	}
}

package mediafire

import (
	"sync"
	"testing"

	"ferry/mediafireserver/mediafireservertest"
)

// An account that allows fewer live tokens than the pool holds (the
// service ends the least recently used, with 105 on its next call): the
// client still completes every call and settles on what the account
// allows instead of logging in again and again.
func TestPoolAboveAccountLimit(t *testing.T) {
	ts := mediafireservertest.Start(t, mediafireservertest.WithMaxSessions(1))
	c := serverClient(t, ts, func(o *Options) { o.Sessions = 3 })
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for range 20 {
				if _, err := c.UserInfo(t.Context()); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d logins", c.Logins())
	if n := c.Logins(); n > 8 {
		t.Errorf("%d logins for 120 calls on an account allowing one token: the pool fights itself", n)
	}
}

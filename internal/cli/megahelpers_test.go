package cli

import (
	"log/slog"
	"testing"

	"ferry/mega"
	"ferry/megaserver/megaservertest"
)

// megaCLI starts a loopback server with fresh cache and config dirs and
// returns it with the flags naming its remote.
func megaCLI(t *testing.T, opts ...megaservertest.Option) (*megaservertest.TestServer, []string) {
	t.Helper()
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	quiet := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := megaservertest.Start(t, append([]megaservertest.Option{megaservertest.WithLogger(quiet)}, opts...)...)
	return srv, []string{"--mega-user", megaservertest.UserV2, "--mega-pass", megaservertest.PasswordV2, "--mega-url", srv.URL}
}

// otherClient is another MEGA client on srv (the client library,
// logged in on its own session), with the tree fetched.
func otherClient(t *testing.T, srv *megaservertest.TestServer) *mega.Client {
	t.Helper()
	c := mega.New(mega.Options{APIURL: srv.URL})
	if err := c.Login(t.Context(), megaservertest.UserV2, megaservertest.PasswordV2, mega.LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.FetchTree(t.Context()); err != nil {
		t.Fatal(err)
	}
	return c
}

package cli

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"ferry/megaserver/megaservertest"
)

// TestExitCodesNotFound runs each command on a missing directory and on a
// missing file, on a local path and on MEGA: a missing directory exits 3
// (rclone's "directory not found"), a missing file 4, as rclone does.
func TestExitCodesNotFound(t *testing.T) {
	configEnv(t)
	quiet := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := megaservertest.Start(t, megaservertest.WithLogger(quiet))
	megaFlags := []string{"--mega-user", megaservertest.UserV2, "--mega-pass", megaservertest.PasswordV2, "--mega-url", srv.URL}

	local := t.TempDir()
	writeFiles(t, local, map[string]string{"present/file.txt": "x"})
	mustRun(t, "", append([]string{"copy", local, ":mega:"}, megaFlags...)...)

	tests := []struct {
		name string
		args []string // M is the remote's root (a local dir or :mega:), D a local destination
		want int
	}{
		{"ls", []string{"ls", "M/missing"}, exitDirNotFound},
		{"ls nested", []string{"ls", "M/missing/deeper"}, exitDirNotFound},
		{"lsl", []string{"lsl", "M/missing"}, exitDirNotFound},
		{"lsd", []string{"lsd", "M/missing"}, exitDirNotFound},
		{"lsf", []string{"lsf", "M/missing"}, exitDirNotFound},
		{"lsjson", []string{"lsjson", "M/missing"}, exitDirNotFound},
		{"size", []string{"size", "M/missing"}, exitDirNotFound},
		{"tree", []string{"tree", "M/missing"}, exitDirNotFound},
		{"copy", []string{"copy", "M/missing", "D"}, exitDirNotFound},
		{"sync", []string{"sync", "M/missing", "D"}, exitDirNotFound},
		{"move", []string{"move", "M/missing", "D"}, exitDirNotFound},
		{"check", []string{"check", "M/missing", "D"}, exitDirNotFound},
		{"rmdir", []string{"rmdir", "M/missing"}, exitDirNotFound},
		{"rmdirs", []string{"rmdirs", "M/missing"}, exitDirNotFound},
		{"purge", []string{"purge", "M/missing"}, exitDirNotFound},
		{"delete", []string{"delete", "M/missing"}, exitDirNotFound},
		{"cat file", []string{"cat", "M/present/missing.txt"}, exitNotFound},
		{"copyto file", []string{"copyto", "M/present/missing.txt", "D/x.txt"}, exitNotFound},
		{"moveto file", []string{"moveto", "M/present/missing.txt", "D/x.txt"}, exitNotFound},
		{"deletefile", []string{"deletefile", "M/present/missing.txt"}, exitNotFound},
		{"ls present", []string{"ls", "M/present"}, exitOK},
	}
	for _, root := range []struct {
		name  string
		path  string
		flags []string
	}{{"local", local, nil}, {"mega", ":mega:", megaFlags}} {
		t.Run(root.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					dst := t.TempDir()
					args := make([]string, len(tc.args))
					for i, a := range tc.args {
						if a == "D" || strings.HasPrefix(a, "D/") {
							a = filepath.Join(dst, a[1:])
						}
						if rest, ok := strings.CutPrefix(a, "M/"); ok {
							a = root.path + rest
							if root.flags == nil {
								a = filepath.Join(root.path, rest)
							}
						}
						args[i] = a
					}
					code, _, errOut := runCLI(t, t.Context(), "", append(args, root.flags...)...)
					if code != tc.want {
						t.Errorf("ferry %s: exit %d, want %d\n%s", strings.Join(args, " "), code, tc.want, errOut)
					}
				})
			}
		})
	}
}

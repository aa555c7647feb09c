package backend

import (
	"path"
	"strings"
	"testing"
)

func TestJoinMatchesPathJoin(t *testing.T) {
	elems := []string{"", "a", "a/b", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "x y", "ü", "...", ".hidden"}
	for _, a := range elems {
		for _, b := range elems {
			want := strings.TrimPrefix(path.Join("/", a, b), "/")
			if got := Join(a, b); got != want {
				t.Errorf("Join(%q, %q) = %q, want %q", a, b, got, want)
			}
		}
	}
}

func BenchmarkJoin(b *testing.B) {
	for b.Loop() {
		_ = Join("photos/2024/summer", "IMG_0001.jpg")
	}
}

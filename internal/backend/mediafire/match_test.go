package mediafire

import (
	"bytes"
	"testing"
	"time"

	"ferry/mediafireserver/mediafireservertest"
)

func TestMatchContent(t *testing.T) {
	ts := mediafireservertest.Start(t)
	b := newTestBackend(t, ts)
	ctx := t.Context()
	data := bytes.Repeat([]byte("match"), 5000)
	e, err := b.Put(ctx, "m.bin", bytes.NewReader(data), int64(len(data)), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ts.Server.ResetStats()
	for _, tc := range []struct {
		name string
		r    []byte
		want bool
	}{
		{"same", data, true},
		{"one byte", append(append([]byte{}, data[:100]...), append([]byte{'X'}, data[101:]...)...), false},
		{"shorter", data[:len(data)-1], false},
	} {
		got, err := b.MatchContent(ctx, e, bytes.NewReader(tc.r))
		if err != nil || got != tc.want {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if n := ts.Server.Stats().Calls["dl"]; n != 0 {
		t.Errorf("MatchContent downloaded %d times", n)
	}
}

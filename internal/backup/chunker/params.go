// Package chunker splits a stream into content-defined chunks for ferry
// backup (FastCDC with a keyed gear table, so chunk boundaries do not leak
// content to someone without the repository's key).
package chunker

// Params are the chunk size bounds, in bytes: no chunk but the last is
// shorter than Min or longer than Max, and chunks average about Avg.
type Params struct{ Min, Avg, Max int }

// DefaultParams are the bounds a new repository uses: Min 512 KiB, Avg
// 1 MiB, Max 8 MiB.
func DefaultParams() Params {
	return Params{Min: 512 << 10, Avg: 1 << 20, Max: 8 << 20}
}

package mega

import (
	"net/http"

	"ferry/mega/megacrypto"
)

// A TransferPiece is one upload POST or one download range of a transfer:
// consecutive whole MAC chunks starting at Offset.
type TransferPiece struct {
	Offset, Size int64
}

// TransferPlan is how the client moves a file of a given size: the pieces
// (the same for upload and download), the requests in flight in each
// direction, and the bytes of piece buffers it holds at most.
type TransferPlan struct {
	Pieces              []TransferPiece
	UploadConcurrency   int
	DownloadConcurrency int
	MemoryBudget        int64
}

// Plan returns the client's transfer plan for a file of size bytes (its
// options after defaults). It changes nothing; it lets a benchmark move
// the same bytes the same way without the client's crypto, which is the
// ceiling the client's own transfers are measured against.
func (c *Client) Plan(size int64) TransferPlan {
	ps := c.pieces(megacrypto.Chunks(size))
	out := make([]TransferPiece, len(ps))
	for i, p := range ps {
		out[i] = TransferPiece{Offset: p.off, Size: p.size}
	}
	return TransferPlan{Pieces: out, UploadConcurrency: c.upConc, DownloadConcurrency: c.downConc, MemoryBudget: c.budget}
}

// HTTPClient returns the HTTP client that sends all of the client's
// requests (Options.HTTPClient, or the tuned default).
func (c *Client) HTTPClient() *http.Client { return c.hc }

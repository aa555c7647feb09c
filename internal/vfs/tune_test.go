package vfs

import (
	"os"
	"strconv"
)

func init() {
	if v, err := strconv.Atoi(os.Getenv("T_PIECE")); err == nil {
		prefetchPiece = int64(v) << 20
	}
	if v, err := strconv.Atoi(os.Getenv("T_MAX")); err == nil {
		prefetchMax = v
	}
}

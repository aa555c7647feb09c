package mfapi

// SimpleLimit is the largest file sent with one upload/simple; larger
// files go by upload/resumable units.
const SimpleLimit = 4 << 20

// UnitSize is the resumable unit size the service uses for a file of size
// bytes: one 4 MiB unit under 4 MiB; from there 1 MiB, doubling each time
// the size reaches the next power of 4 times 4 MiB (2 MiB from 16 MiB,
// 4 MiB from 64 MiB, ...), up to 64 MiB units from 16 GiB on.
func UnitSize(size int64) int64 {
	if size < 4<<20 {
		return 4 << 20
	}
	unit := int64(1 << 20)
	limit := int64(16 << 20)
	for range 6 {
		if size < limit {
			return unit
		}
		unit *= 2
		limit *= 4
	}
	return unit
}

// Units is the number of units of unitSize in a file of size bytes (at
// least 1: an empty file is one empty unit).
func Units(size, unitSize int64) int {
	if size <= 0 || unitSize <= 0 {
		return 1
	}
	return int((size + unitSize - 1) / unitSize)
}

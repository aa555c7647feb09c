package pace

// WindowState exposes the window's limit, lowest limit and calls in
// flight to the tests.
func WindowState(b *Backend) (limit, lowest, inFlight int) { return b.win.state() }

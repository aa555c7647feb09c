// Package layering holds no code: its test checks that ferry's packages
// import one way (docs/architecture.md), so the architecture in the tree
// stays true.
package layering

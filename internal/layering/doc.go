// Package layering holds no code: its test checks that ferry's packages
// import one way (style.md §1), so the architecture in the tree stays true.
package layering

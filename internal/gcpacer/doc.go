// Package gcpacer keeps the garbage collector from running too often while
// the live heap is small.
//
// The Go collector starts a cycle when the heap has grown by GOGC percent
// of what was live after the last one. kiln serves from a small live heap
// (a few MiB for a Worker and its objects) and allocates tens of KiB per
// request, so with the default GOGC=100 it collected every hundred or so
// requests and spent a large share of its CPU doing so. The pacer raises
// GOGC while the live heap is below a floor, so that the heap may grow to
// about the floor between cycles, and returns to the default as the live
// heap reaches it: memory stays bounded by max(floor, 2 × live), the
// default's bound for heaps above the floor. A GOGC set in the environment
// is left alone.
package gcpacer

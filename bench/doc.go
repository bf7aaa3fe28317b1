// Command bench runs the same Workers on kiln and on workerd (the reference
// runtime, installed from npm into a cache directory, never a dependency of
// kiln) side by side on this machine, checks that every run stayed correct,
// and writes the medians and kiln/workerd ratios to bench/RESULTS.md.
//
// Run it from the repository root:
//
//	go run ./bench                      # every scenario, 3 rounds, 32 and 1 connections
//	go run ./bench -scenarios hello -rounds 1 -duration 2s
package main

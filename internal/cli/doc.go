// Package cli holds kiln's commands (cobra). Flags become option structs
// here and are handed to the packages that do the work; exit codes are
// decided here only.
package cli

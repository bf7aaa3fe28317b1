// Package localstate is the layout of the local data directory that
// `kiln dev` and the `--local` CLI commands share (the --persist-to
// directory): where KV and Durable Object data live inside it.
package localstate

import "path/filepath"

// DefaultDir is the persist directory, relative to the project (the
// directory of the wrangler configuration), when --persist-to is not given.
const DefaultDir = ".kiln/state"

// Dir resolves the persist directory: flag as given (relative to the working
// directory), or DefaultDir inside projectDir when flag is empty.
func Dir(projectDir, flag string) string {
	if flag != "" {
		abs, err := filepath.Abs(flag)
		if err != nil {
			return flag
		}
		return abs
	}
	return filepath.Join(projectDir, DefaultDir)
}

// KVPath is the SQLite database of every KV namespace.
func KVPath(dir string) string { return filepath.Join(dir, "kv.sqlite") }

// DOPath is the directory of Durable Object storage: one directory per
// namespace, one SQLite file per object.
func DOPath(dir string) string { return filepath.Join(dir, "do") }

// Package atomicfile replaces small files (kiln serve's metadata: scripts,
// routes, tokens, the account) so that a crash leaves either the old or the
// new content, never a torn file: it writes a temporary file beside the
// target, fsyncs it, renames it over the target and fsyncs the directory.
package atomicfile

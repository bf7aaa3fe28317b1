package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X .../cli.Version=...".
var Version = "dev"

// exitError carries a specific exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// streams are the process's standard streams, injected so tests can run
// commands in-process.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

// Main runs kiln with args and returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := &streams{in: stdin, out: stdout, err: stderr}
	root := newRoot(s)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.err != nil {
				fmt.Fprintf(stderr, "✘ [ERROR] %v\n", ee.err)
			}
			return ee.code
		}
		fmt.Fprintf(stderr, "✘ [ERROR] %v\n", err)
		return 1
	}
	return 0
}

func newRoot(s *streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "kiln",
		Short:         "Run Cloudflare-style Workers, Durable Objects and Workers KV on your own machines",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.AddCommand(newDevCmd(s), newServeCmd(s), newTokenCmd(s))
	root.AddCommand(newDeployCmd(s))
	root.AddCommand(newKVCmd(s), newLegacyKVNamespaceCmd(s), newLegacyKVKeyCmd(s), newLegacyKVBulkCmd(s))
	return root
}

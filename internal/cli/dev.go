package cli

import (
	"fmt"
	"strings"

	"github.com/kiln-dev/kiln/internal/debugserver"
	"github.com/kiln-dev/kiln/internal/dev"
	"github.com/kiln-dev/kiln/worker"
	"github.com/spf13/cobra"
)

func newDevCmd(s *streams) *cobra.Command {
	var (
		opts        dev.Options
		vars        []string
		debugListen string
	)
	cmd := &cobra.Command{
		Use:   "dev [dir]",
		Short: "Serve the Worker of a wrangler project locally, rebuilding on change",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Dir = args[0]
			}
			for _, kv := range vars {
				name, value, ok := strings.Cut(kv, ":")
				if !ok || name == "" {
					return &exitError{code: 2, err: fmt.Errorf("--var %q: expected KEY:VALUE", kv)}
				}
				opts.Vars = append(opts.Vars, worker.Var{Name: name, Value: value})
			}
			opts.Out, opts.Err = s.out, s.err
			opts.Watch = true
			if debugListen != "" {
				addr, err := debugserver.Start(cmd.Context(), debugListen)
				if err != nil {
					return err
				}
				fmt.Fprintf(s.out, "Debug endpoints on http://%s/debug/pprof/ and /debug/kiln/stats\n", addr)
			}
			return dev.Run(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Port, "port", 8787, "port to listen on")
	f.StringVar(&opts.IP, "ip", "127.0.0.1", "IP address to listen on")
	f.StringVarP(&opts.Env, "env", "e", "", "environment of the config file to use (env.<NAME>)")
	f.StringVarP(&opts.ConfigPath, "config", "c", "", "path to the wrangler config file (default: searched upward from the project directory)")
	f.StringArrayVar(&vars, "var", nil, "a var to set or override, as KEY:VALUE (repeatable)")
	f.StringVar(&opts.PersistTo, "persist-to", "", "directory for local KV and Durable Object data (default: .kiln/state beside the config file)")
	f.IntVar(&opts.Runtimes, "runtimes", 0, "JavaScript runtimes per Worker (default: one per CPU)")
	f.StringVar(&debugListen, "debug-listen", "", "serve pprof profiles and /debug/kiln/stats on this address (off by default)")
	f.DurationVar(&opts.IdleTimeout, "do-idle-timeout", 0, "how long a Durable Object without events stays in memory before it is evicted (default 70s, as the platform)")
	return cmd
}

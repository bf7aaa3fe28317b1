package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/kiln-dev/kiln/internal/debugserver"
	"github.com/kiln-dev/kiln/internal/httplimit"
	"github.com/kiln-dev/kiln/server"
	"github.com/kiln-dev/kiln/server/mgmt"
	"github.com/spf13/cobra"
)

func newServeCmd(s *streams) *cobra.Command {
	var (
		data, listen, apiListen, accountID, domain, debugListen string
		runtimes                                                int
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Host Workers uploaded through the management API (production server)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			log := slog.New(slog.NewTextHandler(s.err, nil))
			host, err := server.Open(ctx, server.Options{DataDir: data, Domain: domain, Logger: log, Runtimes: runtimes})
			if err != nil {
				return err
			}
			defer host.Close()
			api, err := mgmt.New(mgmt.Options{DataDir: data, AccountID: accountID, KV: host.KV(), Logger: log})
			if err != nil {
				return err
			}
			host.Register(api)
			pub, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("--listen %s: %w", listen, err)
			}
			mgmtLn, err := net.Listen("tcp", apiListen)
			if err != nil {
				return fmt.Errorf("--api-listen %s: %w", apiListen, err)
			}
			fmt.Fprintf(s.out, "⛭ kiln serve · data %s\n", data)
			fmt.Fprintf(s.out, "Account ID: %s\n", api.Account().ID)
			fmt.Fprintf(s.out, "Workers answer on http://%s as <script>.%s\n", pub.Addr(), domain)
			fmt.Fprintf(s.out, "Management API: http://%s%s (create a token with: kiln token create --data %s)\n", mgmtLn.Addr(), mgmt.Prefix, data)
			if debugListen != "" {
				addr, err := debugserver.Start(ctx, debugListen)
				if err != nil {
					return err
				}
				fmt.Fprintf(s.out, "Debug endpoints on http://%s/debug/pprof/ and /debug/kiln/stats\n", addr)
			}
			fmt.Fprintf(s.out, "[kiln:info] Ready on http://%s\n", pub.Addr())
			servers := []*http.Server{httplimit.NewServer(host), httplimit.NewServer(api)}
			errc := make(chan error, 2)
			go func() { errc <- servers[0].Serve(pub) }()
			go func() { errc <- servers[1].Serve(mgmtLn) }()
			select {
			case <-ctx.Done():
			case err := <-errc:
				if !errors.Is(err, http.ErrServerClosed) {
					return err
				}
			}
			shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for _, srv := range servers {
				_ = srv.Shutdown(shutdown)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&data, "data", "kiln-data", "data directory: scripts, KV, Durable Object storage, tokens")
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "address for Worker traffic")
	f.StringVar(&apiListen, "api-listen", "127.0.0.1:8081", "address of the management API (/client/v4)")
	f.StringVar(&accountID, "account-id", "", "account ID (default: generated at first start and kept in the data directory)")
	f.StringVar(&domain, "domain", "localhost", "a request for <script>.<domain> reaches the Worker <script>")
	f.IntVar(&runtimes, "runtimes", 0, "JavaScript runtimes per Worker (default: one per CPU)")
	f.StringVar(&debugListen, "debug-listen", "", "serve pprof profiles and /debug/kiln/stats on this address (off by default)")
	return cmd
}

func newTokenCmd(s *streams) *cobra.Command {
	var data string
	cmd := &cobra.Command{Use: "token", Short: "Manage the API tokens of a kiln serve data directory"}
	cmd.PersistentFlags().StringVar(&data, "data", "kiln-data", "data directory of kiln serve")
	var name string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a token; the secret is printed once, alone on the last line",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			tokens, err := mgmt.OpenTokens(data)
			if err != nil {
				return err
			}
			id, secret, err := tokens.CreateToken(cmd.Context(), name)
			if err != nil {
				return err
			}
			fmt.Fprintf(s.err, "Created token %s (%s). Use it as Authorization: Bearer <token>; it is not shown again.\n", id, name)
			fmt.Fprintln(s.out, secret)
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "kiln", "a name to recognise the token by")
	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens (their secrets are not stored)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			tokens, err := mgmt.OpenTokens(data)
			if err != nil {
				return err
			}
			all, err := tokens.ListTokens(cmd.Context())
			if err != nil {
				return err
			}
			for _, t := range all {
				fmt.Fprintf(s.out, "%s\t%s\t%s\n", t.ID, t.Name, t.CreatedOn.Format(time.RFC3339))
			}
			return nil
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke <id>",
		Short: "Revoke a token",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tokens, err := mgmt.OpenTokens(data)
			if err != nil {
				return err
			}
			if err := tokens.RevokeToken(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(s.out, "Revoked token %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

// Command kiln runs Cloudflare-style Workers, Durable Objects and Workers KV
// on your own machines. See internal/cli for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kiln-dev/kiln/internal/cli"
	"github.com/kiln-dev/kiln/internal/gcpacer"
	"github.com/kiln-dev/kiln/internal/procs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	procs.Configure(os.Getenv)
	gcpacer.Start(ctx, gcpacer.DefaultFloor, nil)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

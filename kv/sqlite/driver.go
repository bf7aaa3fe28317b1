package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"

	ncruces "github.com/ncruces/go-sqlite3/driver"
)

// sqlDriver opens connections of one SQLite driver. The store speaks
// database/sql, so a driver is only a way to make a connector for a file;
// the normal build has one (ncruces, see doc.go), the driver benchmark
// (built with the tag kvdriverbench) adds the others.
type sqlDriver struct {
	name      string
	connector func(uri string) (driver.Connector, error)
}

// ncrucesDriver is github.com/ncruces/go-sqlite3: SQLite translated from
// Wasm to Go, no cgo, and a VFS written in Go.
var ncrucesDriver = sqlDriver{
	name: "ncruces",
	connector: func(uri string) (driver.Connector, error) {
		return (&ncruces.SQLite{}).OpenConnector(uri)
	},
}

// fileURI makes the SQLite URI of a path, escaped so that '?' and '#' in a
// file name stay part of it.
func fileURI(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", path, err)
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	if u.Path[0] != '/' { // a Windows drive letter
		u.Path = "/" + u.Path
	}
	return u.String(), nil
}

// initConnector runs statements (PRAGMAs) on every new connection, whatever
// the driver: database/sql has no hook of its own for that.
type initConnector struct {
	inner driver.Connector
	stmts []string
}

func (c *initConnector) Driver() driver.Driver { return c.inner.Driver() }

func (c *initConnector) Connect(ctx context.Context) (driver.Conn, error) {
	// database/sql opens a pooled connection with the context of whichever
	// caller needed it, and ncruces keeps that context as the connection's
	// default interrupt: a connection outlives that caller, so it must not
	// inherit its cancellation.
	ctx = context.WithoutCancel(ctx)
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	for _, q := range c.stmts {
		if err := execRaw(ctx, conn, q); err != nil {
			conn.Close()
			return nil, fmt.Errorf("%s: %w", q, err)
		}
	}
	return conn, nil
}

func execRaw(ctx context.Context, conn driver.Conn, q string) error {
	if ex, ok := conn.(driver.ExecerContext); ok {
		_, err := ex.ExecContext(ctx, q, nil)
		if !errors.Is(err, driver.ErrSkip) {
			return err
		}
	}
	var st driver.Stmt
	var err error
	if p, ok := conn.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, q)
	} else {
		st, err = conn.Prepare(q)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	if se, ok := st.(driver.StmtExecContext); ok {
		_, err = se.ExecContext(ctx, nil)
		return err
	}
	_, err = st.Exec(nil) //nolint:staticcheck // fallback for drivers without StmtExecContext
	return err
}

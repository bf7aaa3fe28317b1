// Package dev is `kiln dev`: it loads the wrangler configuration, bundles
// the Worker, serves it on a local port, and rebuilds it whenever a source
// file or the configuration changes. A rebuild that fails leaves the previous
// version serving and prints the error; the next change retries.
package dev

// Package server is `kiln serve`: it hosts any number of Workers uploaded
// through the management API, keeps them (and their KV and Durable Object
// data) in a data directory so that a restart picks everything up, and
// routes public traffic to them by Host: <script>.<domain>.
package server

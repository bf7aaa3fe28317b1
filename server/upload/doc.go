// Package upload reads a Worker script upload of the Cloudflare v4 API
// (PUT /accounts/{a}/workers/scripts/{name}, multipart/form-data): the
// `metadata` part (main_module or body_part, bindings, compatibility date
// and flags, migrations) and the module parts, and checks them, so that a
// malformed upload is refused with a message naming the problem before
// anything is stored or replaced.
package upload

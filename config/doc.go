// Package config reads a Worker's wrangler configuration file (wrangler.json,
// wrangler.jsonc or wrangler.toml) and turns it into a validated [Config].
//
// It follows wrangler's own rules, so that a project that works with wrangler
// works with kiln unchanged:
//
//   - [Find] looks for the file the way wrangler does: first wrangler.json in
//     the directory and each of its parents, then wrangler.jsonc the same way,
//     then wrangler.toml.
//   - JSON files may contain comments and trailing commas, whether they are
//     named .json or .jsonc; "$schema" is allowed.
//   - Selecting an environment (--env NAME) resolves the env.NAME section:
//     inheritable keys (name, main, compatibility_date, migrations, routes,
//     limits, ...) fall back to the top level, and the Worker name becomes
//     "<name>-<NAME>" unless the section sets its own; bindings (vars,
//     kv_namespaces, durable_objects, ...) are not inherited, and wrangler's
//     warning is reported when the top level has them and the section does not.
//   - Problems are reported with wrangler's own texts where wrangler has one:
//     unknown keys and other doubtful settings become [Warning]s, invalid
//     values become a [*ValidationError] listing every problem found, naming
//     the file and the key path.
//
// The package does not read the process environment: the caller maps
// CLOUDFLARE_ENV or --env to [LoadOptions.Env].
package config

package config

// The key lists below follow wrangler's normalizeAndValidateEnvironment and
// normalizeAndValidateConfig (packages/workers-utils/src/config/validation.ts
// in cloudflare/workers-sdk). kiln reads only some of these keys; the others
// are known so that they are not reported as unexpected.

// inheritableKeys fall back to the top level inside env.<name>.
var inheritableKeys = []string{
	"account_id", "compatibility_date", "compatibility_flags", "jsx_factory",
	"jsx_fragment", "tsconfig", "rules", "name", "main", "find_additional_modules",
	"preserve_file_names", "base_dir", "route", "routes", "triggers", "assets",
	"limits", "placement", "build", "workers_dev", "preview_urls", "migrations",
	"exports", "logfwdr", "no_bundle", "minify", "keep_names", "first_party_worker",
	"logpush", "upload_source_maps", "observability", "access", "cache",
	"compliance_region", "python_modules", "previews",
}

// nonInheritableKeys (the bindings) are not inherited: an environment that
// lacks one gets the empty default, with a warning when the top level has it.
// Listed in wrangler's order, which is the order of its warnings.
var nonInheritableKeys = []string{
	"vars", "secrets", "define", "durable_objects", "workflows", "kv_namespaces",
	"cloudchamber", "containers", "send_email", "queues", "connect", "r2_buckets",
	"d1_databases", "vectorize", "ai_search_namespaces", "ai_search", "websearch",
	"agent_memory", "hyperdrive", "services", "analytics_engine_datasets",
	"dispatch_namespaces", "mtls_certificates", "tail_consumers",
	"streaming_tail_consumers", "unsafe", "browser", "ai", "images", "stream",
	"media", "pipelines", "secrets_store_secrets", "artifacts", "unsafe_hello_world",
	"flagship", "worker_loaders", "ratelimits", "vpc_services", "vpc_networks",
	"version_metadata",
}

// topLevelOnlyKeys are allowed at the top level only.
var topLevelOnlyKeys = []string{
	"$schema", "env", "pages_build_output_dir", "send_metrics",
	"dependencies_instrumentation", "keep_vars", "addresses", "dev", "site",
	"alias", "wasm_modules", "text_blobs", "data_blobs",
}

// reportedElsewhere are removed keys that get their own message rather than
// the unexpected-field warning.
var reportedElsewhere = []string{"legacy_env", "node_compat"}

// Keys checked only for their type, inherited like the others.
var (
	inheritableStringKeys = []string{"base_dir", "tsconfig", "jsx_factory", "jsx_fragment"}
	inheritableBoolKeys   = []string{
		"workers_dev", "preview_urls", "find_additional_modules", "preserve_file_names",
		"no_bundle", "minify", "keep_names", "first_party_worker", "logpush",
		"upload_source_maps",
	}
	topLevelBoolKeys = []string{"send_metrics", "keep_vars"}
)

func keySet(lists ...[]string) map[string]bool {
	set := map[string]bool{}
	for _, list := range lists {
		for _, k := range list {
			set[k] = true
		}
	}
	return set
}

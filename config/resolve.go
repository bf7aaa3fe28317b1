package config

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// resolver validates one parsed file and resolves the selected environment,
// collecting every problem instead of stopping at the first.
type resolver struct {
	path, format, dir string

	section  string // environment being validated, "" for the top level
	errors   []Problem
	warnings []Problem
}

// environment is the resolved content of the top level or of one env.<name>
// section. Pointers and slices are nil when the key is unset.
type environment struct {
	name, main, compatDate, accountID *string
	compatFlags                       []string
	route                             *route
	routes                            []route
	routesSet                         bool
	limits                            *Limits
	migrations                        []Migration
	vars                              []Var
	kv                                []KVNamespace
	durableObjects                    []DurableObjectBinding
}

type route struct {
	pattern      string
	customDomain bool
}

func (r *resolver) errorf(format string, args ...any) {
	r.errors = append(r.errors, Problem{Env: r.section, Message: fmt.Sprintf(format, args...)})
}

func (r *resolver) warnf(format string, args ...any) {
	r.warnings = append(r.warnings, Problem{Env: r.section, Message: fmt.Sprintf(format, args...)})
}

// unexpectedFields warns about keys not in known, with wrangler's text. The
// second line of wrangler's message tells the user to update Wrangler; kiln
// says what it does instead.
func (r *resolver) unexpectedFields(field string, t *table, known map[string]bool) {
	var extra []string
	for _, k := range t.keys {
		if !known[k] {
			extra = append(extra, quoteJSON(k))
		}
	}
	if len(extra) > 0 {
		r.warnf("Unexpected fields found in %s field: %s\n  kiln ignores them; if this is a new configuration option, kiln may not support it yet.",
			field, strings.Join(extra, ","))
	}
}

func (r *resolver) resolve(root *table, envName string) *Config {
	r.checkTopLevelOnly(root)
	top := r.environment(root, nil, nil, "")

	var environments []string
	envValue, hasEnvKey := root.values["env"]
	envTable, _ := envValue.(*table)
	if envTable != nil {
		environments = append(environments, envTable.keys...)
	} else if hasEnvKey {
		r.errorf("The field \"env\" should be an object but got %s.", jsonText(envValue))
	}

	active := top
	if envName != "" {
		var rawEnv any
		found := false
		if envTable != nil {
			rawEnv, found = envTable.values[envName]
		}
		switch section, isTable := rawEnv.(*table); {
		case found && isTable:
			r.section = envName
			active = r.environment(section, top, root, envName)
			r.section = ""
		case found:
			r.section = envName
			r.errorf("The field \"env.%s\" should be an object but got %s.", envName, jsonText(rawEnv))
			r.section = ""
		default:
			active = missingEnvironment(top, envName)
			r.reportMissingEnvironment(envName, environments, hasEnvKey && envValue != nil)
		}
	}

	r.unexpectedFields("top-level", root, keySet(inheritableKeys, nonInheritableKeys, topLevelOnlyKeys, reportedElsewhere))
	r.sortProblems()

	cfg := &Config{
		Path:               r.path,
		Format:             r.format,
		Dir:                r.dir,
		CompatibilityFlags: active.compatFlags,
		Vars:               active.vars,
		KVNamespaces:       active.kv,
		DurableObjects:     active.durableObjects,
		Migrations:         active.migrations,
		EnvName:            envName,
		Environments:       environments,
	}
	cfg.Name = deref(active.name)
	cfg.Main = deref(active.main)
	cfg.CompatibilityDate = deref(active.compatDate)
	cfg.AccountID = deref(active.accountID)
	if active.limits != nil {
		cfg.Limits = *active.limits
	}
	switch {
	case active.routesSet:
		for _, rt := range active.routes {
			cfg.Routes = append(cfg.Routes, rt.pattern)
		}
	case active.route != nil:
		cfg.Routes = []string{active.route.pattern}
	}
	return cfg
}

// sortProblems puts the top level's problems before the environment's, the
// order in which wrangler prints them.
func (r *resolver) sortProblems() {
	order := func(list []Problem) []Problem {
		var top, env []Problem
		for _, p := range list {
			if p.Env == "" {
				top = append(top, p)
			} else {
				env = append(env, p)
			}
		}
		return append(top, env...)
	}
	r.errors = order(r.errors)
	r.warnings = order(r.warnings)
}

// missingEnvironment is what wrangler does for an --env that the file does
// not define: the top level, with the name suffixed as for a real
// environment and the bindings kept.
func missingEnvironment(top *environment, envName string) *environment {
	e := *top
	e.name = appendEnvName(top.name, envName)
	return &e
}

func (r *resolver) reportMissingEnvironment(envName string, environments []string, hasEnvironments bool) {
	names := ""
	if hasEnvironments {
		names = "The available configured environment names are: " + jsonText(stringsToAny(environments)) + "\n"
	}
	message := fmt.Sprintf("No environment found in configuration with name %q.\n"+
		"Before using `--env=%s` there should be an equivalent environment section in the configuration.\n"+
		"%s\n"+
		"Consider adding an environment configuration section to the %s file:\n"+
		"```\n[env.%s]\n```",
		envName, envName, names, configFileName(r.format), envName)
	if hasEnvironments {
		r.errorf("%s", message)
	} else {
		r.warnf("%s", message)
	}
}

func configFileName(format string) string { return "wrangler." + format }

func appendEnvName(name *string, envName string) *string {
	if name == nil || *name == "" {
		return nil
	}
	s := *name + "-" + envName
	return &s
}

// checkTopLevelOnly validates the keys that only exist at the top level.
func (r *resolver) checkTopLevelOnly(root *table) {
	if v, ok := root.values["$schema"]; ok {
		if _, isString := v.(string); !isString {
			r.errorf("Expected \"$schema\" to be of type string but got %s.", jsonText(v))
		}
	}
	for _, key := range topLevelBoolKeys {
		r.checkType(root, key, "boolean")
	}
	if root.has("legacy_env") {
		// wrangler now rejects the field; kiln, which has no service
		// environments either, only warns, since removing it changes nothing.
		r.warnf("The \"legacy_env\" field is no longer supported, so please remove it from your configuration file.\n" +
			"Service environments have been removed, and each environment is now deployed as its own Worker named \"<name>-<environment>\". " +
			"This matches the behaviour of \"legacy_env = true\", which was the default, so removing the field will not change how your Worker is deployed.")
	}
}

// checkType reports a key of t that is present with the wrong JSON type
// ("string", "boolean" or "number"), with wrangler's message.
func (r *resolver) checkType(t *table, key, want string) bool {
	v, ok := t.values[key]
	if !ok || typeOf(v) == want {
		return true
	}
	r.errorf("Expected %q to be of type %s but got %s.", key, want, jsonText(v))
	return false
}

// typeOf is JavaScript's typeof for tree values.
func typeOf(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case nil, []any, *table, time.Time:
		return "object"
	}
	return "undefined"
}

// environment validates and resolves one section. top and rawTop are nil for
// the top level itself; for env.<envName> they are the resolved and raw top
// level, used for inheritance and for wrangler's warnings.
func (r *resolver) environment(raw *table, top *environment, rawTop *table, envName string) *environment {
	e := &environment{}
	inherit := top != nil
	if !inherit {
		top = &environment{}
	}

	if raw.has("node_compat") {
		r.errorf("Removed: \"node_compat\":\n" +
			"The \"node_compat\" field is no longer supported as of Wrangler v4. Instead, use the `nodejs_compat` compatibility flag. " +
			"This includes the functionality from legacy `node_compat` polyfills and natively implemented Node.js APIs. " +
			"See https://developers.cloudflare.com/workers/runtime-apis/nodejs for more information.")
	}

	e.route, e.routes, e.routesSet = r.routes(raw, top, envName, inherit)

	if v, ok := raw.values["account_id"]; ok && v == "" {
		r.warnf("The \"account_id\" field in your configuration is an empty string and will be ignored.\n" +
			"Please remove the \"account_id\" field from your configuration.")
		e.accountID = top.accountID
	} else {
		e.accountID = r.inheritString(raw, "account_id", top.accountID)
	}

	for _, key := range inheritableBoolKeys {
		r.checkType(raw, key, "boolean")
	}
	for _, key := range inheritableStringKeys {
		r.checkType(raw, key, "string")
	}

	e.compatDate = top.compatDate
	if v, ok := raw.values["compatibility_date"]; ok {
		if r.compatibilityDate(v) {
			e.compatDate = stringPtr(v)
		}
	}

	e.compatFlags = top.compatFlags
	if v, ok := raw.values["compatibility_flags"]; ok {
		if flags, valid := stringList(v); valid {
			e.compatFlags = flags
		} else {
			r.errorf("Expected \"compatibility_flags\" to be of type string array but got %s.", jsonText(v))
		}
	}
	if e.compatFlags == nil {
		e.compatFlags = []string{}
	}

	if inherit {
		e.name = appendEnvName(top.name, envName)
	}
	if v, ok := raw.values["name"]; ok {
		if s, isString := v.(string); isString && validName(s) {
			e.name = &s
		} else {
			r.errorf("Expected \"name\" to be of type string, alphanumeric and lowercase with dashes only but got %s.", jsonText(v))
		}
	}

	e.main = r.inheritString(raw, "main", top.main)
	if e.main != nil && *e.main != "" && !filepath.IsAbs(*e.main) {
		joined := filepath.Join(r.dir, *e.main)
		e.main = &joined
	}

	e.limits = top.limits
	if v, ok := raw.values["limits"]; ok && v != nil {
		e.limits = r.limits(v)
	}

	e.vars = r.vars(raw, top, rawTop, envName)
	e.durableObjects = r.durableObjects(raw, top, rawTop, envName)

	e.migrations = top.migrations
	if v, ok := raw.values["migrations"]; ok && v != nil {
		e.migrations = r.migrations(v)
	}
	if e.migrations == nil {
		e.migrations = []Migration{}
	}

	e.kv = r.kvNamespaces(raw, top, rawTop, envName)

	if inherit {
		for _, key := range nonInheritableKeys {
			if key == "vars" || key == "durable_objects" || key == "kv_namespaces" {
				continue // reported by their own validators, in wrangler's order
			}
			r.notInherited(raw, rawTop, key, envName)
		}
	}

	r.warnIfDurableObjectsHaveNoMigrations(e)

	if inherit {
		r.unexpectedFields("env."+envName, raw, keySet(inheritableKeys, nonInheritableKeys, []string{"node_compat"}))
	}
	return e
}

// notInherited emits wrangler's warning when the top level has a binding
// key that the environment lacks. It reports whether the environment has it.
func (r *resolver) notInherited(raw, rawTop *table, key, envName string) bool {
	if raw.has(key) {
		return true
	}
	if rawTop.has(key) {
		r.warnf("%q exists at the top level, but not on \"env.%s\".\n"+
			"This is not what you probably want, since %q is not inherited by environments.\n"+
			"Please add %q to \"env.%s\".", key, envName, key, key, envName)
	}
	return false
}

// inheritString validates an optional string key and falls back to the
// inherited value when it is absent (or null, or invalid).
func (r *resolver) inheritString(raw *table, key string, inherited *string) *string {
	v, ok := raw.values[key]
	if !ok {
		return inherited
	}
	if s, isString := v.(string); isString {
		return &s
	}
	r.errorf("Expected %q to be of type string but got %s.", key, jsonText(v))
	return inherited
}

var workerName = regexp.MustCompile(`^$|^[a-z0-9_][a-z0-9-_]*$`)

// validName is wrangler's rule for Worker names: lowercase letters, digits,
// underscores and dashes, not starting with a dash.
func validName(s string) bool { return workerName.MatchString(s) }

// compatibilityDate checks for a yyyy-mm-dd calendar date.
func (r *resolver) compatibilityDate(v any) bool {
	s, ok := v.(string)
	if !ok {
		r.errorf("Expected \"compatibility_date\" to be of type string but got %s.", jsonText(v))
		return false
	}
	valid := true
	if strings.ContainsAny(s, "\u2013\u2014") {
		r.errorf("\"compatibility_date\" field should use ISO-8601 accepted hyphens (-) rather than en-dashes (\u2013) or em-dashes (\u2014).")
		valid = false
	}
	// Like wrangler, judge the date itself with the dashes already reported
	// replaced by hyphens, so that each mistake is reported once.
	hyphenated := strings.NewReplacer("\u2013", "-", "\u2014", "-").Replace(s)
	if _, err := time.Parse(time.DateOnly, hyphenated); err != nil {
		r.errorf("\"compatibility_date\" field should be a valid ISO-8601 date (YYYY-MM-DD), but got %s.", jsonText(v))
		valid = false
	}
	return valid
}

func (r *resolver) limits(v any) *Limits {
	t, ok := v.(*table)
	if !ok {
		r.errorf("The field \"limits\" should be an object but got %s.", jsonText(v))
		return nil
	}
	l := &Limits{}
	for _, f := range []struct {
		key string
		dst *int
	}{{"cpu_ms", &l.CPUMs}, {"subrequests", &l.Subrequests}} {
		raw, ok := t.values[f.key]
		if !ok {
			continue
		}
		n, isNumber := raw.(float64)
		if !isNumber {
			r.errorf("Expected \"limits.%s\" to be of type number but got %s.", f.key, jsonText(raw))
			continue
		}
		if n <= 0 || n != float64(int64(n)) || n > 1<<31 {
			r.errorf("Expected \"limits.%s\" to be a positive integer but got %s.", f.key, jsonText(raw))
			continue
		}
		*f.dst = int(n)
	}
	return l
}

// routes resolves `route` and `routes`, both inheritable.
func (r *resolver) routes(raw *table, top *environment, envName string, inherit bool) (*route, []route, bool) {
	single := top.route
	rawRoute, hasRoute := raw.values["route"]
	if hasRoute && rawRoute == "" {
		r.warnf("The \"route\" field in your configuration is an empty string and will be ignored.\n" +
			"Please remove the \"route\" field from your configuration.")
		hasRoute = false
	}
	if hasRoute && rawRoute != nil {
		if rt, ok := routeValue(rawRoute); ok {
			single = &rt
		} else {
			r.errorf("Expected \"route\" to be either a string, or an object with shape { pattern, custom_domain, zone_id | zone_name, enabled, previews_enabled }, but got %s.", jsonText(rawRoute))
		}
	} else if hasRoute {
		r.errorf("Expected \"route\" to be either a string, or an object with shape { pattern, custom_domain, zone_id | zone_name, enabled, previews_enabled }, but got null.")
	}

	list, set := top.routes, top.routesSet
	rawRoutes, hasRoutes := raw.values["routes"]
	if hasRoutes {
		items, isList := rawRoutes.([]any)
		if !isList {
			r.errorf("Expected \"routes\" to be an array but got %s.", jsonText(rawRoutes))
		} else {
			var invalid []any
			parsed := []route{}
			for _, item := range items {
				if rt, ok := routeValue(item); ok {
					parsed = append(parsed, rt)
				} else {
					invalid = append(invalid, item)
				}
			}
			if len(invalid) > 0 {
				r.errorf("Expected \"routes\" to be an array of either strings or objects with the shape { pattern, custom_domain, zone_id | zone_name, enabled, previews_enabled }, but these weren't valid: %s.", jsonText(invalid))
			} else {
				list, set = parsed, true
			}
		}
		if hasRoute {
			r.errorf("Expected exactly one of the following fields [\"routes\",\"route\"].")
		}
	} else if inherit {
		var domains []string
		for _, rt := range top.routes {
			if rt.customDomain {
				domains = append(domains, rt.pattern)
			}
		}
		if len(domains) > 0 {
			r.warnf("The \"env.%s\" environment inherits the top-level `routes` configuration, which includes the custom domain(s): %s. "+
				"Deploying this environment will reassign these custom domains away from the top-level Worker. "+
				"Add `\"routes\": []` to \"env.%s\" to prevent inheritance, or copy the route configuration from the top level to hide this warning.",
				envName, strings.Join(domains, ", "), envName)
		}
	}
	return single, list, set
}

// routeValue accepts a pattern string or a {pattern, ...} object, with the
// keys wrangler allows.
func routeValue(v any) (route, bool) {
	switch v := v.(type) {
	case string:
		return route{pattern: v}, v != ""
	case *table:
		pattern, ok := v.values["pattern"].(string)
		if !ok {
			return route{}, false
		}
		_, zoneID := v.values["zone_id"].(string)
		_, zoneName := v.values["zone_name"].(string)
		customDomain, hasCustomDomain := v.values["custom_domain"].(bool)
		_, enabled := v.values["enabled"].(bool)
		_, previewsEnabled := v.values["previews_enabled"].(bool)
		recognized := 0
		for _, b := range []bool{zoneID, zoneName, hasCustomDomain, enabled, previewsEnabled} {
			if b {
				recognized++
			}
		}
		switch {
		case recognized != len(v.keys)-1,
			zoneID && zoneName,
			(enabled || previewsEnabled) && !hasCustomDomain,
			!zoneID && !zoneName && !hasCustomDomain:
			return route{}, false
		}
		return route{pattern: pattern, customDomain: customDomain}, true
	}
	return route{}, false
}

// vars validates `vars`, a non-inheritable table of strings or JSON values.
func (r *resolver) vars(raw *table, top *environment, rawTop *table, envName string) []Var {
	if !r.nonInheritablePresent(raw, rawTop, "vars", envName) {
		return []Var{}
	}
	field := r.fieldPath("vars", envName)
	v := raw.values["vars"]
	t, ok := v.(*table)
	if !ok {
		r.errorf("The field %q should be an object but got %s.", field, jsonText(v))
		return []Var{}
	}
	vars := make([]Var, 0, len(t.keys))
	for _, name := range t.keys {
		value := t.values[name]
		if _, isDate := value.(time.Time); isDate {
			r.errorf("The field \"%s.%s\" is a TOML date, which is not supported. Please use a string instead, e.g. %s = \"2025-12-19\".",
				field, name, name)
			continue
		}
		vars = append(vars, Var{Name: name, Value: plain(value)})
	}
	if envName != "" {
		var missing []string
		for _, topVar := range top.vars {
			if !t.has(topVar.Name) {
				missing = append(missing, "- "+topVar.Name)
			}
		}
		if len(missing) > 0 {
			r.warnf("The following vars exist at the top level, but not on %q.\n"+
				"This is probably not what you want, since \"vars\" configuration is not inherited by environments.\n"+
				"Please add these vars to \"env.%s.vars\":\n%s", field, envName, strings.Join(missing, "\n"))
		}
	}
	return vars
}

// nonInheritablePresent reports whether a non-inheritable key is set in the
// section, warning as wrangler does when only the top level sets it.
func (r *resolver) nonInheritablePresent(raw, rawTop *table, key, envName string) bool {
	if envName == "" {
		return raw.has(key)
	}
	return r.notInherited(raw, rawTop, key, envName)
}

// fieldPath is how wrangler names a binding key in messages: bare at the top
// level, prefixed with env.<name> inside an environment.
func (r *resolver) fieldPath(key, envName string) string {
	if envName == "" {
		return key
	}
	return "env." + envName + "." + key
}

func (r *resolver) kvNamespaces(raw *table, top *environment, rawTop *table, envName string) []KVNamespace {
	if !r.nonInheritablePresent(raw, rawTop, "kv_namespaces", envName) {
		return []KVNamespace{}
	}
	field := r.fieldPath("kv_namespaces", envName)
	v := raw.values["kv_namespaces"]
	items, ok := v.([]any)
	if !ok {
		r.errorf("The field %q should be an array but got %s.", field, jsonText(v))
		return []KVNamespace{}
	}
	known := keySet([]string{"binding", "id", "preview_id", "remote"})
	namespaces := make([]KVNamespace, 0, len(items))
	bindings := map[string]bool{}
	for i, item := range items {
		entry := fmt.Sprintf("%s[%d]", field, i)
		t, isTable := item.(*table)
		if !isTable {
			r.errorf("\"kv_namespaces\" bindings should be objects, but got %s", jsonText(item))
			continue
		}
		binding, bindingOK := t.values["binding"].(string)
		if !bindingOK {
			r.errorf("%q bindings should have a string \"binding\" field but got %s.", entry, jsonText(t))
		}
		bindings[binding] = bindingOK
		id, idOK := optionalString(t, "id")
		if !idOK || (t.has("id") && id == "") {
			r.errorf("%q bindings should have a string \"id\" field but got %s.", entry, jsonText(t))
		}
		previewID, previewOK := optionalString(t, "preview_id")
		if !previewOK {
			r.errorf("%q bindings should, optionally, have a string \"preview_id\" field but got %s.", entry, jsonText(t))
		}
		r.checkRemote(t, entry)
		r.unexpectedFields(entry, t, known)
		namespaces = append(namespaces, KVNamespace{Binding: binding, ID: id, PreviewID: previewID})
	}
	if envName != "" {
		for _, ns := range top.kv {
			if ns.Binding != "" && !bindings[ns.Binding] {
				r.warnf("There is a kv_namespaces binding with name %q at the top level, but not on \"env.%s\".\n"+
					"This is not what you probably want, since \"kv_namespaces\" configuration is not inherited by environments.\n"+
					"Please add a binding for %q to \"env.%s.kv_namespaces.bindings\".", ns.Binding, envName, ns.Binding, envName)
			}
		}
	}
	return namespaces
}

func (r *resolver) checkRemote(t *table, entry string) {
	if v, ok := t.values["remote"]; ok {
		if _, isBool := v.(bool); !isBool {
			r.errorf("%q should, optionally, have a boolean \"remote\" field but got %s.", entry, jsonText(t))
		}
	}
}

// optionalString returns a key's string value; ok is false when the key is
// present with another type.
func optionalString(t *table, key string) (string, bool) {
	v, present := t.values[key]
	if !present {
		return "", true
	}
	s, ok := v.(string)
	return s, ok
}

func (r *resolver) durableObjects(raw *table, top *environment, rawTop *table, envName string) []DurableObjectBinding {
	if !r.nonInheritablePresent(raw, rawTop, "durable_objects", envName) {
		return []DurableObjectBinding{}
	}
	field := r.fieldPath("durable_objects", envName)
	v := raw.values["durable_objects"]
	t, ok := v.(*table)
	if !ok {
		r.errorf("The field %q should be an object but got %s.", field, jsonText(v))
		return []DurableObjectBinding{}
	}
	rawBindings, ok := t.values["bindings"]
	if !ok {
		r.errorf("The field %q is missing the required \"bindings\" property.", field)
		return []DurableObjectBinding{}
	}
	items, ok := rawBindings.([]any)
	if !ok {
		r.errorf("The field \"%s.bindings\" should be an array but got %s.", field, jsonText(rawBindings))
		return []DurableObjectBinding{}
	}
	known := keySet([]string{"class_name", "environment", "name", "script_name"})
	bindings := make([]DurableObjectBinding, 0, len(items))
	valid := true
	for i, item := range items {
		entry := fmt.Sprintf("%s.bindings[%d]", field, i)
		b, ok := r.durableObjectBinding(entry, item, known)
		valid = valid && ok
		bindings = append(bindings, b)
	}
	if envName != "" && valid {
		present := map[string]bool{}
		for _, b := range bindings {
			present[b.Name] = true
		}
		var missing []string
		for _, b := range top.durableObjects {
			if !present[b.Name] {
				missing = append(missing, "- "+b.Name)
			}
		}
		if len(missing) > 0 {
			r.warnf("The following bindings are at the top level, but not on \"env.%s\".\n"+
				"This is not what you probably want, since \"durable_objects\" configuration is not inherited by environments.\n"+
				"Please add a binding for each to \"%s.bindings\":\n%s", envName, field, strings.Join(missing, "\n"))
		}
	}
	return bindings
}

// durableObjectBinding validates one binding. wrangler prints these messages
// under a heading naming the binding; kiln puts the binding's path in front.
func (r *resolver) durableObjectBinding(entry string, item any, known map[string]bool) (DurableObjectBinding, bool) {
	t, ok := item.(*table)
	if !ok {
		r.errorf("Expected %q to be an object but got %s", entry, jsonText(item))
		return DurableObjectBinding{}, false
	}
	valid := true
	name, ok := t.values["name"].(string)
	if !ok {
		r.errorf("%q: binding should have a string \"name\" field.", entry)
		valid = false
	}
	className, ok := t.values["class_name"].(string)
	if !ok {
		r.errorf("%q: binding should have a string \"class_name\" field.", entry)
		valid = false
	}
	scriptName, ok := optionalString(t, "script_name")
	if !ok {
		r.errorf("%q: the field \"script_name\", when present, should be a string.", entry)
		valid = false
	}
	environment, ok := optionalString(t, "environment")
	if !ok {
		r.errorf("%q: the field \"environment\", when present, should be a string.", entry)
		valid = false
	}
	if t.has("environment") && !t.has("script_name") {
		r.errorf("%q: binding should have a \"script_name\" field if \"environment\" is present.", entry)
		valid = false
	}
	if v, ok := t.values["remote"]; ok {
		if _, isBool := v.(bool); !isBool {
			r.errorf("%q should, optionally, have a boolean \"remote\" field but got %s.", entry, jsonText(t))
			valid = false
		}
	}
	r.unexpectedFields(entry, t, known)
	return DurableObjectBinding{Name: name, ClassName: className, ScriptName: scriptName, Environment: environment}, valid
}

// migrations validates `migrations`, with wrangler's messages. As in
// wrangler, an unknown key in a migration is a warning, not an error.
func (r *resolver) migrations(v any) []Migration {
	items, ok := v.([]any)
	if !ok {
		r.errorf("The optional \"migrations\" field should be an array, but got %s", jsonText(v))
		return nil
	}
	known := keySet([]string{"tag", "new_classes", "new_sqlite_classes", "renamed_classes", "deleted_classes", "transferred_classes"})
	migrations := make([]Migration, 0, len(items))
	for i, item := range items {
		prefix := fmt.Sprintf("migrations[%d]", i)
		t, ok := item.(*table)
		if !ok {
			r.errorf("Expected %q to be an object but got %s.", prefix, jsonText(item))
			continue
		}
		r.unexpectedFields("migrations", t, known)
		var m Migration
		switch tag, present := t.values["tag"]; {
		case !present:
			r.errorf("\"%s.tag\" is a required field.", prefix)
		case typeOf(tag) != "string":
			r.errorf("Expected \"%s.tag\" to be of type string but got %s.", prefix, jsonText(tag))
		default:
			m.Tag = tag.(string)
		}
		m.NewClasses = r.classList(t, prefix, "new_classes")
		m.NewSQLiteClasses = r.classList(t, prefix, "new_sqlite_classes")
		m.RenamedClasses = r.renamedClasses(t, prefix)
		m.TransferredClasses = r.transferredClasses(t, prefix)
		m.DeletedClasses = r.classList(t, prefix, "deleted_classes")
		migrations = append(migrations, m)
	}
	return migrations
}

// classList validates an optional array of class names.
func (r *resolver) classList(t *table, prefix, key string) []string {
	v, ok := t.values[key]
	if !ok {
		return nil
	}
	container := prefix + "." + key
	items, isList := v.([]any)
	if !isList {
		r.errorf("Expected %q to be an array of strings but got %s", container, jsonText(v))
		return nil
	}
	names := make([]string, 0, len(items))
	for i, item := range items {
		s, isString := item.(string)
		if !isString {
			// wrangler joins the container and "[i]" with a dot.
			r.errorf("Expected \"%s.[%d]\" to be of type string but got %s.", container, i, jsonText(item))
			continue
		}
		names = append(names, s)
	}
	return names
}

func (r *resolver) renamedClasses(t *table, prefix string) []RenamedClass {
	v, ok := t.values["renamed_classes"]
	if !ok {
		return nil
	}
	var out []RenamedClass
	items, valid := v.([]any)
	for _, item := range items {
		c, isTable := item.(*table)
		from, fromOK := stringAt(c, "from")
		to, toOK := stringAt(c, "to")
		if !isTable || !fromOK || !toOK {
			valid = false
			break
		}
		out = append(out, RenamedClass{From: from, To: to})
	}
	if !valid {
		r.errorf("Expected \"%s.renamed_classes\" to be an array of \"{from: string, to: string}\" objects but got %s.", prefix, jsonText(v))
		return nil
	}
	return out
}

func (r *resolver) transferredClasses(t *table, prefix string) []TransferredClass {
	v, ok := t.values["transferred_classes"]
	if !ok {
		return nil
	}
	var out []TransferredClass
	items, valid := v.([]any)
	for _, item := range items {
		c, isTable := item.(*table)
		from, fromOK := stringAt(c, "from")
		script, scriptOK := stringAt(c, "from_script")
		to, toOK := stringAt(c, "to")
		if !isTable || !fromOK || !scriptOK || !toOK {
			valid = false
			break
		}
		out = append(out, TransferredClass{From: from, FromScript: script, To: to})
	}
	if !valid {
		r.errorf("Expected \"%s.transferred_classes\" to be an array of \"{from: string, from_script: string, to: string}\" objects but got %s.", prefix, jsonText(v))
		return nil
	}
	return out
}

func stringAt(t *table, key string) (string, bool) {
	if t == nil {
		return "", false
	}
	s, ok := t.values[key].(string)
	return s, ok
}

// warnIfDurableObjectsHaveNoMigrations repeats wrangler's advice for Durable
// Objects defined by this Worker without any migration.
func (r *resolver) warnIfDurableObjectsHaveNoMigrations(e *environment) {
	if len(e.migrations) > 0 {
		return
	}
	var classes []string
	for _, b := range e.durableObjects {
		if b.ScriptName != "" {
			continue
		}
		if b.ClassName == "" {
			return
		}
		classes = append(classes, b.ClassName)
	}
	if len(classes) == 0 {
		return
	}
	file := configFileName(r.format)
	r.warnf("In your %s file, you have configured `durable_objects` exported by this Worker (%s), but no `migrations` for them. "+
		"This may not work as expected until you add a `migrations` section to your %s file. Add the following configuration:\n\n"+
		"```\n%s\n```\n\n"+
		"Refer to https://developers.cloudflare.com/durable-objects/reference/durable-objects-migrations/ for more details.",
		file, strings.Join(classes, ", "), file, r.migrationSnippet(classes))
}

func (r *resolver) migrationSnippet(classes []string) string {
	quoted := make([]string, len(classes))
	for i, c := range classes {
		quoted[i] = quoteJSON(c)
	}
	if r.format == "toml" {
		return "[[migrations]]\ntag = \"v1\"\nnew_classes = [ " + strings.Join(quoted, ", ") + " ]"
	}
	return "{\n  \"migrations\": [\n    {\n      \"tag\": \"v1\",\n      \"new_classes\": [\n        " +
		strings.Join(quoted, ",\n        ") + "\n      ]\n    }\n  ]\n}"
}

func stringList(v any) ([]string, bool) {
	items, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(items))
	for _, item := range items {
		s, ok := item.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func stringsToAny(list []string) []any {
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
}

func stringPtr(v any) *string {
	s, _ := v.(string)
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

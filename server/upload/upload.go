package upload

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"regexp"
	"strings"

	"github.com/kiln-dev/kiln/durable"
)

// Format is how the script declares its handlers.
type Format int

const (
	// FormatModule: metadata.main_module names an ES module part.
	FormatModule Format = iota
	// FormatServiceWorker: metadata.body_part names a script part.
	FormatServiceWorker
)

// Module is one uploaded part other than metadata. Name is the part's file
// name when it has one (what imports refer to), else its field name;
// FieldName is the form field (curl -F "script=@worker.mjs" gives field
// "script" and file "worker.mjs", and metadata may name either).
type Module struct {
	Name        string
	FieldName   string
	ContentType string
	Data        []byte
}

// Binding is one entry of metadata.bindings.
type Binding struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Text        string          `json:"text,omitempty"`
	JSON        json.RawMessage `json:"json,omitempty"`
	NamespaceID string          `json:"namespace_id,omitempty"`
	ClassName   string          `json:"class_name,omitempty"`
	ScriptName  string          `json:"script_name,omitempty"`
	Environment string          `json:"environment,omitempty"`
}

// Migrations is metadata.migrations, single-step or stepped, as steps.
type Migrations struct {
	OldTag string
	NewTag string
	Steps  []durable.Migration
}

// Upload is a checked script upload.
type Upload struct {
	Script             string
	Format             Format
	Main               string // the main module, or the service-worker part
	Modules            []Module
	Bindings           []Binding
	CompatibilityDate  string
	CompatibilityFlags []string
	Migrations         *Migrations
}

// Error is a refused upload: Code is the API error code, Message names the
// problem.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return e.Message }

func fail(code int, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Codes of refused uploads.
const (
	CodeBadRequest     = 10021 // the upload cannot be read or is inconsistent
	CodeBadScriptName  = 10016 // the name does not match the allowed pattern
	CodeBadBinding     = 10021
	CodeMigrationOrder = 10079 // old_tag does not match the current tag
)

var scriptNameRE = regexp.MustCompile(`^[a-z0-9_][a-z0-9-_]*$`)

// CheckScriptName checks a script name against the API's pattern.
func CheckScriptName(name string) error {
	if !scriptNameRE.MatchString(name) || len(name) > 63 {
		return fail(CodeBadScriptName, "Script name %q is invalid: use lowercase letters, digits, '-' and '_' (at most 63), starting with a letter, digit or '_'.", name)
	}
	return nil
}

// metadata is the JSON of the metadata part.
type metadata struct {
	MainModule         string          `json:"main_module"`
	BodyPart           string          `json:"body_part"`
	Bindings           []Binding       `json:"bindings"`
	CompatibilityDate  string          `json:"compatibility_date"`
	CompatibilityFlags []string        `json:"compatibility_flags"`
	Migrations         json.RawMessage `json:"migrations"`
}

type migrationStep struct {
	OldTag             string             `json:"old_tag"`
	NewTag             string             `json:"new_tag"`
	NewClasses         []string           `json:"new_classes"`
	NewSQLiteClasses   []string           `json:"new_sqlite_classes"`
	DeletedClasses     []string           `json:"deleted_classes"`
	RenamedClasses     []durable.Rename   `json:"renamed_classes"`
	TransferredClasses []transferredClass `json:"transferred_classes"`
	Steps              []migrationStep    `json:"steps"`
}

type transferredClass struct {
	From       string `json:"from"`
	FromScript string `json:"from_script"`
	To         string `json:"to"`
}

func (m migrationStep) step(tag string) durable.Migration {
	out := durable.Migration{Tag: tag, NewClasses: m.NewClasses, NewSQLiteClasses: m.NewSQLiteClasses,
		DeletedClasses: m.DeletedClasses, RenamedClasses: m.RenamedClasses}
	for _, t := range m.TransferredClasses {
		out.TransferredClasses = append(out.TransferredClasses, durable.Transfer{From: t.From, FromScript: t.FromScript, To: t.To})
	}
	return out
}

// MaxUploadBytes bounds a whole upload.
const MaxUploadBytes = 64 << 20

// Parse reads an upload for script with the request's Content-Type and
// body.
func Parse(script, contentType string, body io.Reader) (*Upload, error) {
	if err := CheckScriptName(script); err != nil {
		return nil, err
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, fail(CodeBadRequest, "The upload must be multipart/form-data with a `metadata` part and the script's modules (Content-Type was %q).", contentType)
	}
	mr := multipart.NewReader(io.LimitReader(body, MaxUploadBytes+1), params["boundary"])
	var meta *metadata
	up := &Upload{Script: script}
	seen := map[string]bool{}
	total := 0
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fail(CodeBadRequest, "The multipart body cannot be read: %v", err)
		}
		name := part.FormName()
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, fail(CodeBadRequest, "The part %q cannot be read: %v", name, err)
		}
		total += len(data)
		if total > MaxUploadBytes {
			return nil, fail(CodeBadRequest, "The upload is larger than %d bytes.", MaxUploadBytes)
		}
		if name == "metadata" {
			var m metadata
			dec := json.NewDecoder(strings.NewReader(string(data)))
			if err := dec.Decode(&m); err != nil {
				return nil, fail(CodeBadRequest, "The metadata part is not valid JSON: %v", err)
			}
			meta = &m
			continue
		}
		if name == "" {
			return nil, fail(CodeBadRequest, "A part of the upload has no name.")
		}
		modName := name
		if fn := part.FileName(); fn != "" {
			modName = fn
		}
		if seen[modName] {
			return nil, fail(CodeBadRequest, "The module %q is uploaded twice.", modName)
		}
		seen[modName] = true
		ct := part.Header.Get("Content-Type")
		if mt, _, err := mime.ParseMediaType(ct); err == nil {
			ct = mt
		}
		up.Modules = append(up.Modules, Module{Name: modName, FieldName: name, ContentType: ct, Data: data})
	}
	if meta == nil {
		return nil, fail(CodeBadRequest, "The upload has no `metadata` part; it must describe the script (main_module or body_part, bindings).")
	}
	switch {
	case meta.MainModule != "" && meta.BodyPart != "":
		return nil, fail(CodeBadRequest, "The metadata sets both main_module and body_part; a script is either an ES module (main_module) or a service worker (body_part).")
	case meta.MainModule != "":
		up.Format, up.Main = FormatModule, meta.MainModule
	case meta.BodyPart != "":
		up.Format, up.Main = FormatServiceWorker, meta.BodyPart
	default:
		return nil, fail(CodeBadRequest, "The metadata sets neither main_module (ES module syntax) nor body_part (service-worker syntax).")
	}
	main := up.module(up.Main)
	if main == nil {
		what := "main_module"
		if up.Format == FormatServiceWorker {
			what = "body_part"
		}
		return nil, fail(CodeBadRequest, "The %s %q is not one of the uploaded parts.", what, up.Main)
	}
	up.Main = main.Name
	if up.Format == FormatModule && main.ContentType != "application/javascript+module" && main.ContentType != "text/javascript+module" {
		return nil, fail(CodeBadRequest, "The main module %q must have the content type application/javascript+module (it has %q).", main.Name, main.ContentType)
	}
	if meta.CompatibilityDate != "" && !regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`).MatchString(meta.CompatibilityDate) {
		return nil, fail(CodeBadRequest, "compatibility_date %q is not a date of the form YYYY-MM-DD.", meta.CompatibilityDate)
	}
	up.CompatibilityDate, up.CompatibilityFlags = meta.CompatibilityDate, meta.CompatibilityFlags
	if err := checkBindings(meta.Bindings); err != nil {
		return nil, err
	}
	up.Bindings = meta.Bindings
	if len(meta.Migrations) > 0 && string(meta.Migrations) != "null" {
		m, err := parseMigrations(meta.Migrations)
		if err != nil {
			return nil, err
		}
		up.Migrations = m
	}
	return up, nil
}

// module finds a part by its module (file) name or its field name.
func (u *Upload) module(name string) *Module {
	for i := range u.Modules {
		if u.Modules[i].Name == name {
			return &u.Modules[i]
		}
	}
	for i := range u.Modules {
		if u.Modules[i].FieldName == name {
			return &u.Modules[i]
		}
	}
	return nil
}

// MainModule is the part the script starts from.
func (u *Upload) MainModule() *Module { return u.module(u.Main) }

func checkBindings(bindings []Binding) error {
	names := map[string]bool{}
	for i, b := range bindings {
		if b.Name == "" {
			return fail(CodeBadBinding, "Binding #%d has no name.", i+1)
		}
		if names[b.Name] {
			return fail(CodeBadBinding, "The binding name %q is used twice.", b.Name)
		}
		names[b.Name] = true
		switch b.Type {
		case "plain_text", "secret_text":
		case "json":
			if len(b.JSON) == 0 {
				return fail(CodeBadBinding, "The json binding %q has no json value.", b.Name)
			}
		case "kv_namespace":
			if b.NamespaceID == "" {
				return fail(CodeBadBinding, "The kv_namespace binding %q has no namespace_id.", b.Name)
			}
		case "durable_object_namespace":
			if b.ClassName == "" && b.NamespaceID == "" {
				return fail(CodeBadBinding, "The durable_object_namespace binding %q needs class_name or namespace_id.", b.Name)
			}
		case "inherit":
		case "":
			return fail(CodeBadBinding, "The binding %q has no type.", b.Name)
		default:
			return fail(CodeBadBinding, "The binding %q has the type %q, which kiln does not support (plain_text, secret_text, json, kv_namespace, durable_object_namespace, inherit).", b.Name, b.Type)
		}
	}
	return nil
}

func parseMigrations(raw json.RawMessage) (*Migrations, error) {
	var m migrationStep
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fail(CodeBadRequest, "metadata.migrations is not valid: %v", err)
	}
	out := &Migrations{OldTag: m.OldTag, NewTag: m.NewTag}
	if len(m.Steps) > 0 {
		for i, s := range m.Steps {
			tag := fmt.Sprintf("%s#%d", m.NewTag, i+1)
			out.Steps = append(out.Steps, s.step(tag))
		}
	} else {
		out.Steps = []durable.Migration{m.step(m.NewTag)}
	}
	return out, nil
}

// CheckOldTag verifies that the upload's migrations start from the script's
// current migration tag, as the API requires.
func (u *Upload) CheckOldTag(current string) error {
	if u.Migrations == nil {
		return nil
	}
	if u.Migrations.OldTag != current {
		if current == "" {
			return fail(CodeMigrationOrder, "Migration old_tag %q does not match the script, which has no migration tag yet.", u.Migrations.OldTag)
		}
		return fail(CodeMigrationOrder, "Migration old_tag %q does not match the script's current migration tag %q.", u.Migrations.OldTag, current)
	}
	return nil
}

package upload

import (
	"bytes"
	"errors"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

type part struct{ field, file, contentType, body string }

func form(t *testing.T, parts ...part) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := `form-data; name="` + p.field + `"`
		if p.file != "" {
			cd += `; filename="` + p.file + `"`
		}
		h.Set("Content-Disposition", cd)
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = pw.Write([]byte(p.body))
	}
	_ = w.Close()
	return w.FormDataContentType(), &buf
}

// The two uploads of seeds/003, as its curl commands send them.
func TestSeed003Uploads(t *testing.T) {
	ct, body := form(t,
		part{"metadata", "durable-object-example.json", "application/json", `{"main_module": "durable-object-example.mjs"}`},
		part{"script", "durable-object-example.mjs", "application/javascript+module", `export class DurableObjectExample {}`})
	up, err := Parse("example", ct, body)
	if err != nil {
		t.Fatal(err)
	}
	if up.Format != FormatModule || up.Main != "durable-object-example.mjs" || up.MainModule() == nil {
		t.Fatalf("%+v", up)
	}
	ct, body = form(t,
		part{"metadata", "calling-worker.json", "application/json", `{"body_part": "script", "bindings": [{"type": "durable_object_namespace", "name": "EXAMPLE_CLASS", "namespace_id": "abc"}]}`},
		part{"script", "calling-worker.js", "application/javascript", `addEventListener("fetch", () => {})`})
	up, err = Parse("calling-worker", ct, body)
	if err != nil {
		t.Fatal(err)
	}
	if up.Format != FormatServiceWorker || up.MainModule() == nil || len(up.Bindings) != 1 || up.Bindings[0].NamespaceID != "abc" {
		t.Fatalf("%+v", up)
	}
}

func TestWranglerUpload(t *testing.T) {
	ct, body := form(t,
		part{"metadata", "blob", "application/json", `{"main_module": "index.js", "compatibility_date": "2025-01-01", "compatibility_flags": ["nodejs_compat"],
			"bindings": [{"type": "plain_text", "name": "A", "text": "x"}, {"type": "json", "name": "B", "json": {"n": 1}}, {"type": "kv_namespace", "name": "KV", "namespace_id": "0123"}],
			"migrations": {"old_tag": "v1", "new_tag": "v3", "steps": [{"new_sqlite_classes": ["Counter"]}, {"renamed_classes": [{"from": "Counter", "to": "Tally"}]}]}}`},
		part{"index.js", "index.js", "application/javascript+module", `export default {}`},
		part{"index.js.map", "index.js.map", "application/source-map", `{}`})
	up, err := Parse("my-worker", ct, body)
	if err != nil {
		t.Fatal(err)
	}
	if up.CompatibilityDate != "2025-01-01" || len(up.Modules) != 2 || up.Migrations == nil || len(up.Migrations.Steps) != 2 ||
		up.Migrations.Steps[1].RenamedClasses[0].To != "Tally" {
		t.Fatalf("%+v %+v", up, up.Migrations)
	}
	if err := up.CheckOldTag("v1"); err != nil {
		t.Fatal(err)
	}
	var ue *Error
	if err := up.CheckOldTag("v2"); !errors.As(err, &ue) || ue.Code != CodeMigrationOrder || !strings.Contains(ue.Message, `"v1"`) {
		t.Fatalf("tag mismatch: %v", err)
	}
}

func TestMalformedUploads(t *testing.T) {
	script := part{"index.js", "index.js", "application/javascript+module", `export default {}`}
	cases := []struct {
		name  string
		parts []part
		want  string
	}{
		{"no metadata", []part{script}, "no `metadata` part"},
		{"bad JSON", []part{{"metadata", "", "application/json", `{"main_module": `}, script}, "not valid JSON"},
		{"no main", []part{{"metadata", "", "", `{"bindings": []}`}, script}, "neither main_module"},
		{"missing main", []part{{"metadata", "", "", `{"main_module": "other.js"}`}, script}, `"other.js" is not one of the uploaded parts`},
		{"both", []part{{"metadata", "", "", `{"main_module": "index.js", "body_part": "index.js"}`}, script}, "both main_module and body_part"},
		{"unknown binding", []part{{"metadata", "", "", `{"main_module": "index.js", "bindings": [{"type": "r2_bucket", "name": "R2"}]}`}, script}, `"r2_bucket"`},
		{"kv without id", []part{{"metadata", "", "", `{"main_module": "index.js", "bindings": [{"type": "kv_namespace", "name": "KV"}]}`}, script}, "no namespace_id"},
		{"duplicate binding", []part{{"metadata", "", "", `{"main_module": "index.js", "bindings": [{"type": "plain_text", "name": "A"}, {"type": "plain_text", "name": "A"}]}`}, script}, "used twice"},
		{"main not a module", []part{{"metadata", "", "", `{"main_module": "index.js"}`}, {"index.js", "index.js", "application/javascript", "x"}}, "application/javascript+module"},
		{"bad date", []part{{"metadata", "", "", `{"main_module": "index.js", "compatibility_date": "tomorrow"}`}, script}, "compatibility_date"},
	}
	for _, c := range cases {
		ct, body := form(t, c.parts...)
		_, err := Parse("w", ct, body)
		var ue *Error
		if !errors.As(err, &ue) || !strings.Contains(ue.Message, c.want) {
			t.Errorf("%s: got %v, want a message containing %q", c.name, err, c.want)
		}
	}
	if _, err := Parse("w", "application/json", strings.NewReader("{}")); err == nil {
		t.Error("a JSON body was accepted")
	}
	for _, bad := range []string{"", "Upper", "-lead", "a/b"} {
		if err := CheckScriptName(bad); err == nil {
			t.Errorf("script name %q accepted", bad)
		}
	}
}

// FuzzParse: any body is refused with an *Error that has a code and a
// message, or parsed into an upload that is consistent: its main module is
// one of its parts (an ES module when the format says so), module and
// binding names are unique, bindings have supported types and the
// compatibility date is a date. Parsing is deterministic.
func FuzzParse(f *testing.F) {
	f.Add("multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{\"main_module\":\"a.js\"}\r\n--x--\r\n")
	f.Add("multipart/form-data; boundary=x", "--x\r\n\r\n")
	date := regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	f.Fuzz(func(t *testing.T, ct, body string) {
		up, err := Parse("w", ct, strings.NewReader(body))
		again, err2 := Parse("w", ct, strings.NewReader(body))
		if !reflect.DeepEqual(up, again) || fmt.Sprint(err) != fmt.Sprint(err2) {
			t.Fatalf("two parses differ: %+v %v / %+v %v", up, err, again, err2)
		}
		if err != nil {
			var ue *Error
			if !errors.As(err, &ue) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if ue.Message == "" || (ue.Code != CodeBadRequest && ue.Code != CodeBadBinding) {
				t.Fatalf("error %#v: want a message and code %d", ue, CodeBadRequest)
			}
			return
		}
		main := up.MainModule()
		if main == nil || main.Name != up.Main {
			t.Fatalf("main %q is not a part (%v)", up.Main, main)
		}
		if up.Format == FormatModule && !strings.HasSuffix(main.ContentType, "javascript+module") {
			t.Fatalf("main module %q has content type %q", main.Name, main.ContentType)
		}
		names := map[string]bool{}
		size := 0
		for _, m := range up.Modules {
			if names[m.Name] {
				t.Fatalf("module %q twice", m.Name)
			}
			names[m.Name] = true
			size += len(m.Data)
		}
		if size > MaxUploadBytes {
			t.Fatalf("accepted %d bytes of modules", size)
		}
		bindings := map[string]bool{}
		for _, b := range up.Bindings {
			if b.Name == "" || bindings[b.Name] {
				t.Fatalf("binding name %q empty or repeated", b.Name)
			}
			bindings[b.Name] = true
			switch b.Type {
			case "plain_text", "secret_text", "json", "kv_namespace", "durable_object_namespace", "inherit":
			default:
				t.Fatalf("binding %q of unsupported type %q accepted", b.Name, b.Type)
			}
		}
		if up.CompatibilityDate != "" && !date.MatchString(up.CompatibilityDate) {
			t.Fatalf("compatibility date %q accepted", up.CompatibilityDate)
		}
	})
}

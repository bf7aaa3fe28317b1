package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/tailscale/hujson"
)

// table is a TOML table or JSON object whose keys keep the order of the file.
type table struct {
	keys   []string
	values map[string]any
}

func newTable() *table { return &table{values: map[string]any{}} }

// set adds or replaces a key; a replaced key keeps its first position, as a
// JavaScript object does.
func (t *table) set(key string, v any) {
	if _, ok := t.values[key]; !ok {
		t.keys = append(t.keys, key)
	}
	t.values[key] = v
}

func (t *table) has(key string) bool {
	if t == nil {
		return false
	}
	_, ok := t.values[key]
	return ok
}

// Values of the tree are: string, float64, bool, nil, []any, *table, and
// time.Time (TOML dates only).

// fileFormat tells the format from the file name, as wrangler does.
func fileFormat(path string) (string, error) {
	switch {
	case strings.HasSuffix(path, ".toml"):
		return "toml", nil
	case strings.HasSuffix(path, ".jsonc"):
		return "jsonc", nil
	case strings.HasSuffix(path, ".json"):
		return "json", nil
	}
	return "", fmt.Errorf("%w: %s: the file name must end in .json, .jsonc or .toml", ErrSyntax, path)
}

var unsupportedBOMs = []struct {
	mark     []byte
	encoding string
}{
	{[]byte{0x00, 0x00, 0xfe, 0xff}, "UTF-32 BE"},
	{[]byte{0xff, 0xfe, 0x00, 0x00}, "UTF-32 LE"},
	{[]byte{0xfe, 0xff}, "UTF-16 BE"},
	{[]byte{0xff, 0xfe}, "UTF-16 LE"},
}

// decode parses data in the given format into a tree whose root is a table.
func decode(path, format string, data []byte) (*table, error) {
	for _, bom := range unsupportedBOMs {
		if bytes.HasPrefix(data, bom.mark) {
			return nil, fmt.Errorf("%w: %s: Configuration file contains %s byte order marker; save the file as UTF-8 without BOM",
				ErrSyntax, path, bom.encoding)
		}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var (
		root any
		err  error
	)
	if format == "toml" {
		root, err = decodeTOML(data)
	} else {
		root, err = decodeJSONC(data)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSyntax, path, err)
	}
	t, ok := root.(*table)
	if !ok {
		return nil, fmt.Errorf("%w: %s: the configuration must be an object, got %s", ErrSyntax, path, jsonText(root))
	}
	return t, nil
}

// decodeJSONC accepts JSON with comments and trailing commas.
func decodeJSONC(data []byte) (any, error) {
	std, err := hujson.Standardize(data)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(std))
	v, err := readJSONValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the top-level value")
	}
	return v, nil
}

func readJSONValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok := tok.(type) {
	case json.Delim:
		switch tok {
		case '{':
			t := newTable()
			for dec.More() {
				keyTok, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, ok := keyTok.(string)
				if !ok {
					return nil, fmt.Errorf("object key is not a string: %v", keyTok)
				}
				v, err := readJSONValue(dec)
				if err != nil {
					return nil, err
				}
				t.set(key, v)
			}
			_, err := dec.Token() // '}'
			return t, err
		case '[':
			list := []any{}
			for dec.More() {
				v, err := readJSONValue(dec)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			_, err := dec.Token() // ']'
			return list, err
		}
		return nil, fmt.Errorf("unexpected %v", tok)
	default:
		return tok, nil // string, float64, bool or nil
	}
}

// decodeTOML parses TOML and restores the order of keys from the metadata,
// which lists every key in the order it appears.
func decodeTOML(data []byte) (any, error) {
	var m map[string]any
	md, err := toml.Decode(string(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))), &m)
	if err != nil {
		return nil, err
	}
	order := map[string]int{}
	for i, key := range md.Keys() {
		for n := 1; n <= len(key); n++ {
			p := strings.Join(key[:n], "\x00")
			if _, seen := order[p]; !seen {
				order[p] = i
			}
		}
	}
	return fromTOML(m, "", order), nil
}

func fromTOML(v any, path string, order map[string]int) any {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		position := func(k string) int {
			p := k
			if path != "" {
				p = path + "\x00" + k
			}
			if i, ok := order[p]; ok {
				return i
			}
			return math.MaxInt
		}
		sort.SliceStable(keys, func(i, j int) bool {
			pi, pj := position(keys[i]), position(keys[j])
			if pi != pj {
				return pi < pj
			}
			return keys[i] < keys[j]
		})
		t := newTable()
		for _, k := range keys {
			child := k
			if path != "" {
				child = path + "\x00" + k
			}
			t.set(k, fromTOML(v[k], child, order))
		}
		return t
	case []map[string]any:
		list := make([]any, len(v))
		for i, e := range v {
			list[i] = fromTOML(e, path, order)
		}
		return list
	case []any:
		list := make([]any, len(v))
		for i, e := range v {
			list[i] = fromTOML(e, path, order)
		}
		return list
	case int64:
		return float64(v)
	default:
		return v // string, float64, bool, time.Time
	}
}

// jsonText renders a value the way JavaScript's JSON.stringify does, which is
// how wrangler quotes offending values in its messages.
func jsonText(v any) string {
	var b strings.Builder
	writeJSON(&b, v)
	return b.String()
}

func writeJSON(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		b.WriteString(quoteJSON(v))
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case float64:
		b.WriteString(formatNumber(v))
	case time.Time:
		b.WriteString(quoteJSON(v.UTC().Format("2006-01-02T15:04:05.000Z")))
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	case *table:
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(quoteJSON(k))
			b.WriteByte(':')
			writeJSON(b, v.values[k])
		}
		b.WriteByte('}')
	default:
		fmt.Fprintf(b, "%q", fmt.Sprint(v))
	}
}

func quoteJSON(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return strconv.Quote(s)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func formatNumber(f float64) string {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return "null"
	case f == 0:
		return "0"
	case math.Abs(f) >= 1e21 || math.Abs(f) < 1e-6:
		s := strconv.FormatFloat(f, 'g', -1, 64)
		s = strings.Replace(s, "e+0", "e+", 1)
		return strings.Replace(s, "e-0", "e-", 1)
	default:
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
}

// plain converts a tree value to the plain Go form used in Config: maps,
// slices, float64, bool, string and nil. Dates become ISO strings, as
// JSON.stringify would make them.
func plain(v any) any {
	switch v := v.(type) {
	case *table:
		m := make(map[string]any, len(v.keys))
		for _, k := range v.keys {
			m[k] = plain(v.values[k])
		}
		return m
	case []any:
		list := make([]any, len(v))
		for i, e := range v {
			list[i] = plain(e)
		}
		return list
	case time.Time:
		return v.UTC().Format("2006-01-02T15:04:05.000Z")
	default:
		return v
	}
}

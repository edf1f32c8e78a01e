package plan

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds a plan file (and a targets file): a plan is written by
// hand, and an unbounded read is never what a typo in a path meant.
const MaxFileSize = 16 << 20

// Load reads and parses the plan file at path; relative paths in it are
// then resolved against its directory (File.Dir).
func Load(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("plan: %s is larger than %d bytes", path, MaxFileSize)
	}
	f, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	f.Dir = filepath.Dir(path)
	return f, nil
}

// Parse decodes a plan strictly and validates it: a field that does not
// exist, a value of the wrong type and a value out of range (a negative
// rate, an unknown mode, a weight of 0) are all errors at the line and
// column where they were written. name is used in messages only.
//
// yaml.v3's own strict mode (Decoder.KnownFields) names the line of an
// unknown field but not its column, so the file is decoded into yaml.v3's
// node tree and walked here, with the same strictness, keeping the node's
// line and column for every error. Duplicate keys are errors too.
func Parse(name string, data []byte) (*File, error) {
	d := &decoder{file: name, pos: positions{}}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &File{name: name, pos: positions{}}, nil // an empty plan: the flags say everything
		}
		return nil, syntaxError(name, data, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, &Error{File: name, Line: extra.Line, Column: extra.Column, Msg: "a plan file holds one YAML document; found a second"}
	case !errors.Is(err, io.EOF):
		return nil, syntaxError(name, data, err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return &File{name: name, pos: positions{}}, nil
		}
		root = root.Content[0]
	}
	root = resolveAlias(root)
	f := &File{name: name}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		f.pos = d.pos
		return f, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: name, Line: root.Line, Column: root.Column, Msg: fmt.Sprintf("a plan is a mapping of fields (rate: 1000, duration: 30s, ...), got a %s", kindName(root))}
	}
	d.decode(root, reflect.ValueOf(f).Elem(), "")
	f.pos = d.pos
	f.validate(d)
	if len(d.errs) > 0 {
		return nil, d.err()
	}
	return f, nil
}

// Marshal writes f as YAML that Parse reads back to an equal File.
func (f *File) Marshal() ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	return b.Bytes(), nil
}

// decoder walks a node tree into a Go value, strictly.
type decoder struct {
	file   string
	errs   []*Error
	pos    positions
	failed map[Pos]bool // where a value failed to decode: validation says nothing more there
}

// maxErrors bounds what one parse reports: after that many, the rest are
// noise.
const maxErrors = 20

func (d *decoder) fail(n *yaml.Node, format string, args ...any) {
	d.add(atNode(n, format, args...))
}

// failErr records err about the field at path: at n, unless err already
// carries a position.
func (d *decoder) failErr(n *yaml.Node, path string, err error) {
	var e *Error
	if errors.As(err, &e) && e.Line > 0 {
		d.add(&Error{Line: e.Line, Column: e.Column, Msg: field(path) + ": " + e.Msg})
		return
	}
	d.fail(n, "%s: %s", field(path), stripPkg(err))
}

// stripPkg drops the package prefix of another package's error: the plan
// error around it says where the problem is.
func stripPkg(err error) string {
	s := err.Error()
	for _, p := range []string{"schedule: ", "loadgen: ", "resolver: ", "slo: "} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}

func (d *decoder) add(e *Error) {
	if d.failed == nil {
		d.failed = map[Pos]bool{}
	}
	d.failed[Pos{e.Line, e.Column}] = true
	if len(d.errs) < maxErrors {
		e.File = d.file
		d.errs = append(d.errs, e)
	}
}

// err returns the errors in file order, joined.
func (d *decoder) err() error {
	sort.SliceStable(d.errs, func(i, j int) bool {
		a, b := d.errs[i], d.errs[j]
		return a.Line < b.Line || a.Line == b.Line && a.Column < b.Column
	})
	errs := make([]error, len(d.errs))
	for i, e := range d.errs {
		errs[i] = e
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	textType        = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decode sets v from n; path names v for positions and messages.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	n = resolveAlias(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // null leaves the field unset
	}
	d.pos[path] = Pos{n.Line, n.Column}
	if pt := reflect.PointerTo(v.Type()); pt.Implements(unmarshalerType) {
		if err := v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(n); err != nil {
			d.failErr(n, path, err)
		}
		return
	} else if pt.Implements(textType) {
		if n.Kind != yaml.ScalarNode {
			d.fail(n, "%s: want a string, got a %s", field(path), kindName(n))
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.failErr(n, path, err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		nv := reflect.New(v.Type().Elem())
		d.decode(n, nv.Elem(), path)
		v.Set(nv)
	case reflect.Struct:
		d.mapping(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, "%s: want a list, got a %s", field(path), kindName(n))
			return
		}
		if len(n.Content) == 0 {
			return // [] is unset, as nil: so a plan marshals back equal
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	default:
		d.scalar(n, v, path)
	}
}

func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, "%s: want a %s, got a %s", field(path), typeName(v.Kind()), kindName(n))
		return
	}
	switch v.Kind() {
	case reflect.String:
		// Any scalar is text: tls_min: 1.3 and expect_status: 200 mean
		// the strings.
		s, err := scalarString(n)
		if err != nil {
			d.fail(n, "%s: %v", field(path), err)
			return
		}
		v.SetString(s)
	case reflect.Bool:
		var b bool
		if n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.fail(n, "%s: want true or false, got %q", field(path), n.Value)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		var i int64
		if n.ShortTag() != "!!int" || n.Decode(&i) != nil || v.OverflowInt(i) {
			d.fail(n, "%s: want an integer, got %q", field(path), n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		var x float64
		t := n.ShortTag()
		if t != "!!int" && t != "!!float" || n.Decode(&x) != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			d.fail(n, "%s: want a number, got %q", field(path), n.Value)
			return
		}
		v.SetFloat(x)
	default:
		panic(fmt.Sprintf("plan: no decoding for %s (%s)", v.Type(), path)) // a field added without support
	}
}

// mapping decodes a mapping node into struct v: every key must be a field.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, "%s: want a mapping of fields, got a %s", field(path), kindName(n))
		return
	}
	fields := yamlFields(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolveAlias(n.Content[i])
		if k.Kind != yaml.ScalarNode {
			d.fail(k, "%s: a field name must be a string, got a %s", field(path), kindName(k))
			continue
		}
		if k.Value == "<<" {
			d.fail(k, "merge keys (<<) are not supported in plans: requests inherit the plan's method, headers and body instead")
			continue
		}
		if line, dup := seen[k.Value]; dup {
			d.fail(k, "%q is set twice (first on line %d)", k.Value, line)
			continue
		}
		seen[k.Value] = k.Line
		idx, ok := fields[k.Value]
		if !ok {
			d.fail(k, "unknown field %q in %s%s", k.Value, where(path), suggest(k.Value, fields))
			continue
		}
		sub := k.Value
		if path != "" {
			sub = path + "." + k.Value
		}
		d.decode(n.Content[i+1], v.Field(idx), sub)
	}
}

// yamlFields maps the YAML names of t's fields to their indexes.
func yamlFields(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		m[name] = i
	}
	return m
}

// suggest proposes the known field nearest to an unknown one.
func suggest(name string, fields map[string]int) string {
	norm := strings.ReplaceAll(strings.ToLower(name), "-", "_")
	best, bestD := "", 3
	for f := range fields {
		if f == norm {
			return fmt.Sprintf(" (did you mean %q? plan fields use '_' where flags use '-')", f)
		}
		if dd := distance(norm, f); dd < bestD || dd == bestD && f < best {
			best, bestD = f, dd
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func where(path string) string {
	if path == "" {
		return "the plan"
	}
	return path
}

// field names a value in messages: its path, or "the plan" for the root.
func field(path string) string { return where(path) }

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!int", "!!float":
			return "number (" + n.Value + ")"
		case "!!bool":
			return "boolean (" + n.Value + ")"
		}
		return fmt.Sprintf("string (%q)", n.Value)
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}

func typeName(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64:
		return "integer"
	case reflect.Float64:
		return "number"
	}
	return "string"
}

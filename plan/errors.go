package plan

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is one problem with a plan file, at a line and column (both from
// 1; Column is 0 when only the line is known, as for some YAML syntax
// errors). Parse and Load return every problem they find, joined; each is
// an *Error (find the first with errors.As).
type Error struct {
	File         string // as given to Parse; "" for none
	Line, Column int
	Msg          string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("plan: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteByte(':')
		if e.Column > 0 {
			b.WriteString(strconv.Itoa(e.Column))
			b.WriteByte(':')
		}
	}
	if b.Len() > len("plan: ") {
		b.WriteByte(' ')
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Pos is where a value was written in a plan file.
type Pos struct{ Line, Column int }

// positions maps a field path ("rate", "requests[1].weight") to where its
// value was written.
type positions map[string]Pos

// Pos returns where the field at path (for example "rate" or
// "requests[1].url") was written, and whether it was written at all.
func (f *File) Pos(path string) (Pos, bool) {
	p, ok := f.pos[path]
	return p, ok
}

// Has reports whether the field at path was written in the file (even with
// a zero value, such as `connections: 0`).
func (f *File) Has(path string) bool {
	_, ok := f.pos[path]
	return ok
}

// Errorf returns an *Error at the field at path, for problems found after
// parsing (by the command that runs the plan).
func (f *File) Errorf(path, format string, args ...any) error {
	p := f.pos[path]
	return &Error{File: f.name, Line: p.Line, Column: p.Column, Msg: fmt.Sprintf(format, args...)}
}

// atNode returns an *Error at n (the file name is filled in by the decoder).
func atNode(n *yaml.Node, format string, args ...any) *Error {
	return &Error{Line: n.Line, Column: n.Column, Msg: fmt.Sprintf(format, args...)}
}

var (
	yamlLine   = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	yamlAnchor = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
)

// syntaxError turns a yaml.v3 parse error ("yaml: line 3: ...") into an
// *Error at that line (the parser does not give the column). The parser
// leaves the line out when the problem is on the first; an unknown alias
// is found in data.
func syntaxError(name string, data []byte, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if isParserProblem(m[2]) {
			// yaml.v3 gives a parser error's line 0-based (a scanner
			// error's 1-based): the line where the construct that could
			// not be finished (a flow mapping, a block sequence) starts.
			line++
		}
		return &Error{File: name, Line: line, Msg: "YAML syntax: " + m[2]}
	}
	if m := yamlAnchor.FindStringSubmatch(msg); m != nil {
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			line := 1 + bytes.Count(data[:i], []byte("\n"))
			col := 1 + i - (bytes.LastIndexByte(data[:i], '\n') + 1)
			return &Error{File: name, Line: line, Column: col, Msg: fmt.Sprintf("alias *%s refers to no anchor &%s", m[1], m[1])}
		}
	}
	e := &Error{File: name, Msg: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")}
	if !strings.Contains(msg, "anchor") && !strings.Contains(msg, "alias") {
		e.Line = 1
	}
	return e
}

// parserProblems start the messages of yaml.v3's parser (as opposed to its
// scanner).
var parserProblems = []string{
	"did not find expected ',' or", "did not find expected '-' indicator", "did not find expected <",
	"did not find expected key", "did not find expected node content", "found duplicate %",
	"found incompatible YAML document", "found undefined tag handle",
}

func isParserProblem(msg string) bool {
	for _, p := range parserProblems {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

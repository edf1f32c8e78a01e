package plan

import (
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/tailrace/tailrace/loadgen/schedule"
)

// Flag is one field of a plan as the `coordinator run` flag it stands for.
type Flag struct {
	Name   string   // the flag's name, without "--"
	Values []string // to Set in order: a repeatable flag (--header, --slo, --resolve) gets several
	Pos    Pos      // where the field was written
}

// NotFlags are the plan fields that are no flag of `coordinator run`: the
// target is its URL argument, and a mix has no flag form.
var NotFlags = []string{"target", "requests"}

// flagName maps the fields whose flag is not their YAML name with '-' for
// '_'.
var flagName = map[string]string{"headers": "header"}

// listFlags are the fields whose flag takes one comma-separated value.
var listFlags = map[string]bool{"modes": true, "weights": true}

// pathFlags are the fields that name an input file, resolved against the
// plan's directory.
var pathFlags = map[string]bool{"body_file": true, "cacert": true, "targets": true}

// Flags returns the fields written in the plan as flags and their values,
// in the order of File's fields, so that a command can give the plan the
// meaning of its flags: set each flag the command line did not. Paths of
// input files (body_file, cacert, targets) are resolved against Dir;
// output paths (out, junit) are left as written, relative to the working
// directory.
func (f *File) Flags() []Flag {
	var out []Flag
	v := reflect.ValueOf(f).Elem()
	t := v.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if !t.Field(i).IsExported() || name == "-" || name == "" || !f.Has(name) || contains(NotFlags, name) {
			continue
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				continue // written as null: unset
			}
			fv = fv.Elem()
		}
		vals := flagValues(fv)
		if len(vals) == 0 {
			continue
		}
		if listFlags[name] {
			vals = []string{strings.Join(vals, ",")}
		}
		if pathFlags[name] {
			vals[0] = f.path(vals[0])
		}
		fl := Flag{Name: strings.ReplaceAll(name, "_", "-"), Values: vals, Pos: f.pos[name]}
		if n, ok := flagName[name]; ok {
			fl.Name = n
		}
		out = append(out, fl)
	}
	return out
}

// flagValues is a field's value as flag text.
func flagValues(v reflect.Value) []string {
	switch x := v.Interface().(type) {
	case Rate:
		return []string{strconv.FormatFloat(float64(x), 'g', -1, 64)}
	case Duration:
		return []string{time.Duration(x).String()}
	case schedule.Stages:
		if len(x) == 0 {
			return nil
		}
		return []string{x.String()}
	case Headers:
		s := make([]string, len(x))
		for i, h := range x {
			s[i] = h.Name + ": " + h.Value
		}
		return s
	case StatusList:
		return []string{string(x)}
	case []string:
		return x
	case []int64:
		s := make([]string, len(x))
		for i, n := range x {
			s[i] = strconv.FormatInt(n, 10)
		}
		return s
	case string:
		return []string{x}
	case bool:
		return []string{strconv.FormatBool(x)}
	case int:
		return []string{strconv.Itoa(x)}
	case int64:
		return []string{strconv.FormatInt(x, 10)}
	}
	panic("plan: no flag form for " + v.Type().String()) // a field added without one
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

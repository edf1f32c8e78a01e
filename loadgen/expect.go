package loadgen

import (
	"fmt"
	"strconv"
	"strings"
)

// StatusSet is the set of HTTP statuses a run expects (--expect-status):
// a response with any other status is an error, classified by its status
// class ("status_2xx" for a 200 when only 201 was expected, "status_5xx"),
// so the error classes stay few. Its text form is a comma-separated list
// of statuses (304), classes (2xx) and ranges (200-299): "2xx,304".
//
// The zero value is the empty set, which means the default: every status
// below 400 is a success. A StatusSet is a plain value, safe to copy and
// to share.
type StatusSet struct {
	bits [(maxStatus + 64) / 64]uint64 // bit s: status s expected
}

const (
	minStatus = 100
	maxStatus = 599
)

// ParseStatusSet parses the text form, e.g. "2xx,304" or "200-204,404".
func ParseStatusSet(s string) (StatusSet, error) {
	var set StatusSet
	want := fmt.Errorf("loadgen: expected statuses %q: want a comma-separated list of statuses (304), classes (2xx) and ranges (200-299), e.g. 2xx,304", s)
	if strings.TrimSpace(s) == "" {
		return set, want
	}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.ToLower(strings.TrimSpace(item))
		lo, hi := 0, 0
		switch {
		case len(item) == 3 && strings.HasSuffix(item, "xx") && item[0] >= '1' && item[0] <= '5':
			lo = int(item[0]-'0') * 100
			hi = lo + 99
		case strings.Contains(item, "-"):
			a, b, _ := strings.Cut(item, "-")
			var err1, err2 error
			lo, err1 = status(a)
			hi, err2 = status(b)
			if err1 != nil || err2 != nil || lo > hi {
				return StatusSet{}, want
			}
		default:
			var err error
			if lo, err = status(item); err != nil {
				return StatusSet{}, want
			}
			hi = lo
		}
		for c := lo; c <= hi; c++ {
			set.bits[c/64] |= 1 << (c % 64)
		}
	}
	return set, nil
}

func status(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < minStatus || n > maxStatus || len(strings.TrimSpace(s)) != 3 {
		return 0, fmt.Errorf("bad status %q", s)
	}
	return n, nil
}

// IsZero reports whether the set is empty (the default applies).
func (s StatusSet) IsZero() bool { return s == StatusSet{} }

// Contains reports whether code is in the set.
func (s StatusSet) Contains(code int) bool {
	return code >= minStatus && code <= maxStatus && s.bits[code/64]&(1<<(code%64)) != 0
}

// String returns the canonical text form, which ParseStatusSet reads back
// to the same set: class by class, a whole class as "2xx", else its runs
// as ranges and single statuses (a run never spans two classes); "" for
// the empty set.
func (s StatusSet) String() string {
	var parts []string
	for class := minStatus; class <= maxStatus; class += 100 {
		n := 0
		for c := class; c < class+100; c++ {
			if s.Contains(c) {
				n++
			}
		}
		if n == 100 {
			parts = append(parts, strconv.Itoa(class/100)+"xx")
			continue
		}
		for c := class; c < class+100; c++ {
			if !s.Contains(c) {
				continue
			}
			end := c
			for end+1 < class+100 && s.Contains(end+1) {
				end++
			}
			if end == c {
				parts = append(parts, strconv.Itoa(c))
			} else {
				parts = append(parts, strconv.Itoa(c)+"-"+strconv.Itoa(end))
			}
			c = end
		}
	}
	return strings.Join(parts, ",")
}

// MarshalText implements encoding.TextMarshaler.
func (s StatusSet) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; empty text is the
// empty set.
func (s *StatusSet) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*s = StatusSet{}
		return nil
	}
	v, err := ParseStatusSet(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// statusError is the error class of a response with this status, or ""
// when the status is a success under expect (the default when empty:
// below 400).
func statusError(code int, expect *StatusSet) string {
	if expect.IsZero() {
		return statusClass(code)
	}
	if expect.Contains(code) {
		return ""
	}
	if code < minStatus || code > maxStatus {
		return "status_other"
	}
	return "status_" + strconv.Itoa(code/100) + "xx"
}

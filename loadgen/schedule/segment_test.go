package schedule

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func TestParseSegment(t *testing.T) {
	tests := []struct {
		in   string
		want Segment
		err  string // substring of the error; "" for success
	}{
		{"0:1/3", Segment{0, 1, 3}, ""},                      // first third
		{"2:3/3", Segment{2, 3, 3}, ""},                      // last third
		{"0:1/1", Full, ""},                                  // the whole schedule
		{"3:4/6", Segment{3, 4, 6}, ""},                      // a weighted share
		{" 1 : 2 / 4 ", Segment{1, 2, 4}, ""},                // blanks tolerated
		{"0:1048576/1048576", Segment{0, MaxOf, MaxOf}, ""},  // the largest denominator
		{"0:1", Segment{}, "is not START:END/OF"},            // no denominator
		{"1/3", Segment{}, "is not START:END/OF"},            // no start
		{"a:1/3", Segment{}, "is not START:END/OF"},          // not a number
		{"0:1/3/4", Segment{}, "is not START:END/OF"},        // two slashes
		{"1:1/3", Segment{}, "want 0 <= START < END <= OF"},  // empty share
		{"2:1/3", Segment{}, "want 0 <= START < END <= OF"},  // reversed
		{"0:4/3", Segment{}, "want 0 <= START < END <= OF"},  // past the end
		{"-1:1/3", Segment{}, "want 0 <= START < END <= OF"}, // negative start
		{"0:0/0", Segment{}, "want 0 <= START < END <= OF"},  // zero denominator
		{"0:1/1048577", Segment{}, "OF is more than"},        // too fine a split
	}
	for _, tt := range tests {
		got, err := ParseSegment(tt.in)
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("ParseSegment(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseSegment(%q) error = %v, want %q", tt.in, err, tt.err)
		}
	}
}

func TestSegmentTextAndJSON(t *testing.T) {
	seg := Segment{1, 3, 7}
	b, err := json.Marshal(struct{ S Segment }{seg})
	if err != nil || string(b) != `{"S":"1:3/7"}` {
		t.Fatalf("json = %s, %v", b, err)
	}
	var back struct{ S Segment }
	if err := json.Unmarshal(b, &back); err != nil || back.S != seg {
		t.Fatalf("json round trip = %v, %v", back.S, err)
	}
	if _, err := (Segment{}).MarshalText(); err == nil {
		t.Error("the zero Segment marshalled")
	}
	var f Segment
	if err := f.Set("0:1/2"); err != nil || f != (Segment{0, 1, 2}) || f.Type() != "segment" || f.String() != "0:1/2" {
		t.Errorf("Set = %v, %v", f, err)
	}
	if got := (Segment{1, 3, 4}).Fraction(); got != 0.5 {
		t.Errorf("Fraction = %v", got)
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		weights []int64
		want    []Segment
		err     string
	}{
		// Three equal workers: thirds.
		{[]int64{1, 1, 1}, []Segment{{0, 1, 3}, {1, 2, 3}, {2, 3, 3}}, ""},
		// Weighted: widths follow the weights.
		{[]int64{3, 1, 2}, []Segment{{0, 3, 6}, {3, 4, 6}, {4, 6, 6}}, ""},
		// Common factors are divided out: {2,2,2} is thirds.
		{[]int64{2, 2, 2}, []Segment{{0, 1, 3}, {1, 2, 3}, {2, 3, 3}}, ""},
		// Capacities with a common factor of 1000.
		{[]int64{4000, 2000}, []Segment{{0, 2, 3}, {2, 3, 3}}, ""},
		// One worker gets everything.
		{[]int64{7}, []Segment{Full}, ""},
		// No workers.
		{nil, nil, "no weights"},
		// A zero weight.
		{[]int64{1, 0}, nil, "weight 2 is 0"},
		// A negative weight.
		{[]int64{-1, 2}, nil, "weight 1 is -1"},
		// The reduced sum is too large for the residue table.
		{[]int64{MaxOf, 1}, nil, "more than"},
		// The sum overflows int64.
		{[]int64{1<<62 + 1, 1 << 62, 1 << 62}, nil, "overflow"},
	}
	for _, tt := range tests {
		got, err := Split(tt.weights)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Split(%v) error = %v, want %q", tt.weights, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Split(%v) = %v, %v; want %v", tt.weights, got, err, tt.want)
		}
	}
}

// TestOwnedPartition checks the property the whole split rests on: the
// residue tables of a Split's segments partition [0, Of), and each segment
// owns exactly End-Start residues.
func TestOwnedPartition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	splits := [][]int64{{1}, {1, 1}, {1, 1, 1}, {3, 1, 2}, {4, 1, 5}, {1, 999}, {5, 3, 7, 11, 13}}
	for range 50 {
		w := make([]int64, 1+rng.IntN(8))
		for i := range w {
			w[i] = 1 + rng.Int64N(200)
		}
		splits = append(splits, w)
	}
	for _, weights := range splits {
		segs, err := Split(weights)
		if err != nil {
			t.Fatal(err)
		}
		of := segs[0].Of
		owner := make([]int, of)
		for i := range owner {
			owner[i] = -1
		}
		for i, s := range segs {
			own := s.owned()
			if int64(len(own)) != s.End-s.Start {
				t.Fatalf("%v: segment %v owns %d residues", weights, s, len(own))
			}
			for _, r := range own {
				if owner[r] != -1 {
					t.Fatalf("%v: residue %d owned by segments %d and %d", weights, r, owner[r], i)
				}
				owner[r] = i
			}
		}
		for r, o := range owner {
			if o == -1 {
				t.Fatalf("%v: residue %d has no owner", weights, r)
			}
		}
	}
}

func TestOwnedPattern(t *testing.T) {
	tests := []struct {
		weights []int64
		want    string // owner of arrivals 0..Of-1
	}{
		{[]int64{1, 1, 1}, "021"},         // equal thirds: each worker takes every third arrival
		{[]int64{1, 1}, "01"},             // halves alternate
		{[]int64{3, 1, 2}, "020210"},      // weighted: no worker gets two in a row inside a block
		{[]int64{1, 1, 1, 1, 1}, "03142"}, // fifths: a permutation, so every fifth
	}
	for _, tt := range tests {
		segs, _ := Split(tt.weights)
		got := make([]byte, segs[0].Of)
		for i, s := range segs {
			for _, r := range s.owned() {
				got[r] = byte('0' + i)
			}
		}
		if string(got) != tt.want {
			t.Errorf("Split(%v) deals %s, want %s", tt.weights, got, tt.want)
		}
	}
}

func FuzzSegmentText(f *testing.F) {
	for _, s := range []string{"0:1/3", "0:1/1", "2:3/3", "1:1/3", "x", "0:1048576/1048576", "+1:2/3", "0:1/-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var s Segment
		if err := s.UnmarshalText([]byte(in)); err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("UnmarshalText(%q) accepted an invalid %v: %v", in, s, err)
		}
		b, err := s.MarshalText()
		if err != nil {
			t.Fatalf("MarshalText(%v): %v", s, err)
		}
		var back Segment
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Fatalf("round trip of %q via %q = %v, %v", in, b, back, err)
		}
	})
}

// TestOwnedSpread bounds how far a segment's count of the first n arrivals
// can stray from n*Fraction inside a block of Of arrivals (over whole blocks
// it is exact), checked for every contiguous segment and every n. The bound
// grows like log(Of), as it must for any ordering (Schmidt's discrepancy
// theorem): no rule fixed by Of alone keeps every segment within 1.
func TestOwnedSpread(t *testing.T) {
	tests := []struct {
		of  int64
		max float64
	}{
		{3, 1},   // equal thirds and any other split of 3
		{6, 1},   // the {3,1,2} family
		{9, 1},   // the largest Of where every segment stays within 1
		{10, 2},  // {4,1,5}: 1.2
		{28, 2},  // seven workers weighted 1..7: 1.5
		{100, 2}, // 2.0 exactly at worst
	}
	for _, tt := range tests {
		rank := make([]int64, tt.of) // residue -> the single-slot segment owning it
		for s := range tt.of {
			for _, r := range (Segment{s, s + 1, tt.of}).owned() {
				rank[r] = s
			}
		}
		worst := 0.0
		for a := range tt.of {
			for b := a + 1; b <= tt.of; b++ {
				f, n := float64(b-a)/float64(tt.of), 0
				for k, r := range rank {
					if r >= a && r < b {
						n++
					}
					worst = max(worst, math.Abs(float64(n)-f*float64(k+1)))
				}
			}
		}
		if worst > tt.max+1e-9 {
			t.Errorf("Of %d: a segment strays %.3f arrivals from its share, want <= %v", tt.of, worst, tt.max)
		}
	}
}

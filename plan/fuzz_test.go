package plan

import (
	"bytes"
	"reflect"
	"testing"
)

// A plan's stage spec and rates are schedule.ParseStages and
// schedule.ParseRate, fuzzed with round trips by loadgen/schedule's own
// FuzzParseStages and FuzzParseRate, and its expected statuses by
// loadgen's FuzzParseStatusSet; these fuzz what this package decodes.

// planSeeds are valid and invalid plans the fuzzers start from.
var planSeeds = []string{
	fullPlan,
	"rate: 100\nduration: 10s\n",
	"stages: 10s:0->100,20s:100\narrival: poisson\nseed: 0\n",
	"requests:\n  - {label: a, url: /a, weight: 70}\n  - {label: b, url: /b, weight: 20}\n  - {label: c, url: /c, weight: 10}\n",
	"headers: {X-A: 1, X-B: [a, b]}\nbody: \"héllo\\n\\tworld\"\n",
	"headers:\n  - 'X-A: 1'\nexpect_status: [2xx, 304]\n",
	"rate: abc\n",
	"unknown: 1\n",
	"rate: &r 5\nconnections: *r\n",
	"",
	"- 1\n",
	"a: b: c\n",
}

func FuzzParsePlan(f *testing.F) {
	for _, s := range planSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		out, err := p.Marshal()
		if err != nil {
			t.Fatalf("a valid plan does not marshal: %v\n%s", err, data)
		}
		q, err := Parse("again.yaml", out)
		if err != nil {
			t.Fatalf("a marshaled plan does not parse: %v\nfrom:\n%s\nmarshaled:\n%s", err, data, out)
		}
		if !equalFiles(p, q) {
			t.Fatalf("round trip changed the plan\nfrom:\n%s\nmarshaled:\n%s\nfirst:  %+v\nsecond: %+v", data, out, *p, *q)
		}
	})
}

// equalFiles compares two plans' content, not where it was written.
func equalFiles(a, b *File) bool {
	x, y := *a, *b
	x.pos, y.pos, x.name, y.name = nil, nil, "", ""
	return reflect.DeepEqual(x, y)
}

func FuzzParseTargets(f *testing.F) {
	for _, s := range []string{
		targetsSample,
		"GET http://a/\n",
		"# c\n\nPOST https://a:8443/x?y=1\n@b.json\n",
		"GET http://a/\nX: 1\nGET http://b/\n",
		"nonsense",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := ParseTargets("fuzz.txt", bytes.NewReader(data))
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := WriteTargets(&b, ts); err != nil {
			t.Fatal(err)
		}
		again, err := ParseTargets("again.txt", &b)
		if err != nil {
			t.Fatalf("written targets do not parse: %v\n%s", err, b.String())
		}
		if len(again) != len(ts) {
			t.Fatalf("%d targets, %d after a round trip", len(ts), len(again))
		}
		for i := range ts {
			x, y := ts[i], again[i]
			x.Line, y.Line = 0, 0
			if !reflect.DeepEqual(x, y) {
				t.Fatalf("target %d: %+v, %+v after a round trip", i, x, y)
			}
		}
	})
}

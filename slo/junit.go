package slo

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/tailrace/tailrace/reports"
)

// JUnit writes r's SLO verdicts as a JUnit XML report, one test case per
// SLO, so that a CI system shows each gate as a test: a violated SLO is a
// failure whose message names the arms that broke it, and every arm's
// observed value is in the case's system-out. A run without SLOs gives an
// empty suite. It never prints; r is only read.
func JUnit(w io.Writer, r *reports.Results) error {
	suite := junitSuite{Name: "tailrace.slo", Tests: len(r.SLOs), Time: fmt.Sprintf("%.3f", r.DurationS)}
	if !r.StartedAt.IsZero() {
		suite.Timestamp = r.StartedAt.UTC().Format("2006-01-02T15:04:05")
	}
	for _, s := range r.SLOs {
		tc := junitCase{Name: s.Expr, Classname: "tailrace.slo", Time: "0"}
		var out, bad []string
		for _, a := range s.Arms {
			verdict := "pass"
			if !a.Pass {
				verdict = "FAIL"
				bad = append(bad, fmt.Sprintf("%s (%s)", a.Arm, a.Observed))
			}
			out = append(out, fmt.Sprintf("%s: %s %s", a.Arm, a.Observed, verdict))
		}
		tc.SystemOut = strings.Join(out, "\n")
		if !s.Pass {
			suite.Failures++
			msg := "violated in " + strings.Join(bad, ", ")
			if len(bad) == 0 {
				msg = "no arm to evaluate"
			}
			tc.Failure = &junitFailure{Type: "slo", Message: msg, Text: s.Expr + ": " + msg}
		}
		suite.Cases = append(suite.Cases, tc)
	}
	doc := junitSuites{Name: "tailrace", Tests: suite.Tests, Failures: suite.Failures, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("slo: junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("slo: junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("slo: junit: %w", err)
	}
	return nil
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Type    string `xml:"type,attr"`
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

package browsertest_test

import (
	"fmt"

	"github.com/tailrace/tailrace/reports/browsertest"
)

// Problems turns what the browser saw into a verdict: here a page that
// tried to load an image and has a chart with nothing in it.
func ExampleResult_Problems() {
	r := browsertest.Result{
		Requests: []string{"http://127.0.0.1:9/x.png"},
		Charts: []browsertest.Chart{
			{ID: "latency", Kind: "line", Points: 120, Marks: 3, Width: 980, Height: 340},
			{ID: "errors", Kind: "line", Points: 0, Marks: 0, Width: 980, Height: 340},
		},
	}
	for _, p := range r.Problems() {
		fmt.Println(p)
	}
	// Output:
	// request attempted: http://127.0.0.1:9/x.png
	// chart errors (line) not drawn with data: 0 points, 0 marks, 980x340 px
}

package plan_test

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/tailrace/tailrace/plan"
)

func Example() {
	f, err := plan.Parse("plan.yaml", []byte(`
target: http://127.0.0.1:8080/
rate: 500
duration: 1m
requests:
  - {label: list, url: /items, weight: 70}
  - {label: get, url: /items/1, weight: 30}
`))
	if err != nil {
		panic(err)
	}
	for _, fl := range f.Flags() {
		fmt.Printf("--%s %s\n", fl.Name, strings.Join(fl.Values, " "))
	}
	target, _ := url.Parse(f.Target)
	specs, err := f.Mix(plan.Defaults{Target: target})
	if err != nil {
		panic(err)
	}
	for _, s := range specs {
		fmt.Println(s.Label, s.Method, s.URL, s.Weight)
	}
	// Output:
	// --rate 500
	// --duration 1m0s
	// list GET http://127.0.0.1:8080/items 70
	// get GET http://127.0.0.1:8080/items/1 30
}

// Errors name the line and column of the value at fault.
func ExampleParse_errors() {
	_, err := plan.Parse("plan.yaml", []byte("rate: 500\nduraton: 1m\nrequests:\n  - {url: /a, weight: 0}\n"))
	fmt.Println(err)
	// Output:
	// plan: plan.yaml:2:1: unknown field "duraton" in the plan (did you mean "duration"?)
	// plan: plan.yaml:4:23: requests[0].weight: 0 must be a positive number
}

func ExampleParseTargets() {
	ts, err := plan.ParseTargets("targets.txt", strings.NewReader(`GET http://127.0.0.1:8080/items
Accept: application/json

POST http://127.0.0.1:8080/items
@item.json
`))
	if err != nil {
		panic(err)
	}
	for _, t := range ts {
		fmt.Println(t.Line, t.Method, t.URL, t.Headers, "body:"+t.BodyFile)
	}
	// Output:
	// 1 GET http://127.0.0.1:8080/items [{Accept application/json}] body:
	// 4 POST http://127.0.0.1:8080/items [] body:item.json
}

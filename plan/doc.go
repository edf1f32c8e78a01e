// Package plan reads plan files and targets files: the load tests users
// keep in version control, and the request lists they already have.
//
// # Plan files
//
// A plan is a YAML mapping whose fields are the flags of `coordinator run`
// (with '_' for '-'), plus the requests of a mix:
//
//	target: https://api.example.test/
//	rate: 2000/s
//	duration: 2m
//	arrival: poisson
//	expect_status: 2xx,304
//	slo: [total.p99<50ms, errors<0.1%]
//	headers: {Authorization: Bearer abc}   # every request starts from these
//	requests:
//	  - {label: list,   url: /items,   weight: 70}
//	  - {label: get,    url: /items/1, weight: 20}
//	  - {label: create, method: POST, url: /items, body_file: item.json, weight: 10}
//
// Parse decodes strictly: an unknown field, a value of the wrong type and a
// value out of range are errors that name the line and column
// (plan.yaml:12:13: requests[1].weight: 0 must be a positive number), every
// one of them, in file order. File.Flags lists the fields as the flags they
// stand for, so that a command applies a plan by setting each flag its
// command line did not: flags override the file. File.Mix turns the
// requests (or a targets file) into Specs the engine sends, with the
// plan's method, headers and body as defaults and relative paths resolved
// against the plan file's directory.
//
// A mix aims at one origin (scheme://host:port): its requests share the
// run's connections. Its labels name the per-label results; they come from
// the plan only, never from responses, and there are at most MaxLabels of
// them, so per-label results stay bounded.
//
// # Targets files
//
// ParseTargets reads vegeta's HTTP targets format ("METHOD URL", header
// lines, an optional "@body-file" line, blank lines between requests, '#'
// comments); WriteTargets writes it. Each target weighs 1 and is labeled
// "METHOD /path".
//
// Which request an arrival sends is schedule.Mix's choice, a function of
// the arrival's global index, so that workers need no coordination.
package plan

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// result is what one run of one tool measured. A value of -1 means the
// tool's output did not say.
type result struct {
	rps    float64 // completed requests per second, as the tool reports it
	count  float64 // requests completed
	errs   float64 // requests that failed, any way the tool counts it
	p50ms  float64 // median latency (or mean, for tools that give no median)
	server float64 // tailrace only: the server's own p50 (Server-Timing), ms
	lagP50 float64 // tailrace only: schedule lag p50, ms
	lagP99 float64 // tailrace only: schedule lag p99, ms
	cpu    float64 // CPU seconds of the tool's process (benchsum exec)
	rssMB  float64 // peak resident set, MB
	srvCPU float64 // CPU seconds the server's worker used meanwhile (bench/run.sh)
}

func unknown() result {
	return result{rps: -1, count: -1, errs: -1, p50ms: -1, server: -1, lagP50: -1, lagP99: -1, cpu: -1, rssMB: -1, srvCPU: -1}
}

// parseRun reads one run's output (and meta) for tool.
func parseRun(tool, outPath string) result {
	r := unknown()
	if b, err := os.ReadFile(outPath + ".meta"); err == nil {
		r.cpu = metaValue(string(b), "cpu_s")
		r.srvCPU = metaValue(string(b), "server_cpu_s")
		if kb := metaValue(string(b), "maxrss_kb"); kb >= 0 {
			r.rssMB = kb / 1024
		}
	}
	if strings.HasPrefix(tool, "tailrace") {
		parseTailrace(strings.TrimSuffix(outPath, ".out")+"/results.json", &r)
		return r
	}
	b, err := os.ReadFile(outPath)
	if err != nil {
		return r
	}
	out := string(b)
	switch tool {
	case "wrk":
		r.rps = find(out, `Requests/sec:\s+([\d.]+)`)
		r.count = find(out, `(\d+) requests in`)
		r.p50ms = findDur(out, `\s50%\s+([\d.]+(?:us|ms|s))`)
		r.errs = sum(findAll(out, `Non-2xx or 3xx responses: (\d+)`), findAll(out, `Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`))
	case "ab":
		r.rps = find(out, `Requests per second:\s+([\d.]+)`)
		r.count = find(out, `Complete requests:\s+(\d+)`)
		r.p50ms = find(out, `Time per request:\s+([\d.]+) \[ms\] \(mean\)`) // ab's median is in whole ms
		r.errs = sum(findAll(out, `Failed requests:\s+(\d+)`), findAll(out, `Non-2xx responses:\s+(\d+)`))
	case "h2load":
		r.rps = find(out, `finished in [\d.]+\w*, ([\d.]+) req/s`)
		r.count = find(out, `(\d+) succeeded`)
		r.p50ms = findDur(out, `time for request:\s+\S+\s+\S+\s+([\d.]+(?:us|ms|s))`) // mean only
		r.errs = sum(findAll(out, `(\d+) failed, (\d+) errored, (\d+) timeout`))
		if r.count >= 0 {
			if n := find(out, `status codes: (\d+) 2xx`); n >= 0 {
				r.errs += r.count - n
			}
		}
	case "fortio", "fortio-u":
		r.rps = find(out, `All done \d+ calls .* ([\d.]+) qps`)
		r.count = find(out, `All done (\d+) calls`)
		if s := find(out, `# target 50% ([\d.]+)`); s >= 0 {
			r.p50ms = s * 1000
		}
		ok := find(out, `Code 200 : (\d+)`)
		if r.count >= 0 && ok >= 0 {
			r.errs = r.count - ok
		}
	case "hey":
		r.rps = find(out, `Requests/sec:\s+([\d.]+)`)
		r.count = find(out, `\[200\]\s+(\d+) responses`)
		if s := find(out, `50%+ in ([\d.]+) secs`); s >= 0 {
			r.p50ms = s * 1000
		}
		r.errs = 0
		for _, m := range regexp.MustCompile(`\[(\d{3})\]\s+(\d+) responses`).FindAllStringSubmatch(out, -1) {
			if m[1] != "200" {
				n, _ := strconv.ParseFloat(m[2], 64)
				r.errs += n
			}
		}
		if _, errDist, ok := strings.Cut(out, "Error distribution:"); ok {
			r.errs += sum(findAll(errDist, `(?m)^\s+\[(\d+)\]\s`))
		}
	case "eventloop", "eventloop-b":
		r.rps = find(out, `in [\d.]+s \(([\d.]+)/s\)`)
		r.count = find(out, `requests (\d+)`)
		r.errs = find(out, `bad (\d+)`)
	case "vegeta":
		r.rps = find(out, `Requests\s+\[total, rate, throughput\]\s+[\d.]+, [\d.]+, ([\d.]+)`)
		total := find(out, `Requests\s+\[total, rate, throughput\]\s+(\d+)`)
		succ := find(out, `Success\s+\[ratio\]\s+([\d.]+)%`)
		if total >= 0 && succ >= 0 {
			r.count = total * succ / 100
			r.errs = total - r.count
		}
		r.p50ms = findDur(out, `Latencies\s+\[min, mean, 50, [^\]]*\]\s+[^,]+, [^,]+, ([^,]+),`)
	}
	return r
}

// parseTailrace reads the stable core of results.json (DESIGN.md §8).
func parseTailrace(path string, r *result) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var res struct {
		Arms []struct {
			DurationS float64 `json:"duration_s"`
			Counters  struct {
				Completed float64 `json:"completed"`
				Errors    float64 `json:"errors"`
			} `json:"counters"`
			Phases map[string]struct {
				Count float64 `json:"count"`
				P50   float64 `json:"p50_us"`
				P99   float64 `json:"p99_us"`
			} `json:"phases"`
		} `json:"arms"`
	}
	if json.Unmarshal(b, &res) != nil || len(res.Arms) == 0 {
		return
	}
	a := res.Arms[0]
	r.count, r.errs = a.Counters.Completed, a.Counters.Errors
	if a.DurationS > 0 {
		r.rps = a.Counters.Completed / a.DurationS
	}
	if p, ok := a.Phases["total"]; ok {
		r.p50ms = p.P50 / 1000
	}
	if p, ok := a.Phases["server"]; ok && p.Count > 0 {
		r.server = p.P50 / 1000
	}
	if p, ok := a.Phases["schedule_lag"]; ok {
		r.lagP50, r.lagP99 = p.P50/1000, p.P99/1000
	}
}

func metaValue(meta, key string) float64 {
	return find(meta, `(?m)^`+regexp.QuoteMeta(key)+`=([\d.]+)`)
}

// find returns the first capture of re in s as a number, or -1.
func find(s, re string) float64 {
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return -1
	}
	return v
}

// findDur returns the first capture of re, a duration, in milliseconds.
func findDur(s, re string) float64 {
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		return -1
	}
	d, err := time.ParseDuration(strings.TrimSpace(m[1]))
	if err != nil {
		return -1
	}
	return float64(d) / float64(time.Millisecond)
}

// findAll returns every capture of every match of re.
func findAll(s, re string) []float64 {
	var vs []float64
	for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(s, -1) {
		for _, c := range m[1:] {
			if v, err := strconv.ParseFloat(c, 64); err == nil {
				vs = append(vs, v)
			}
		}
	}
	return vs
}

func sum(lists ...[]float64) float64 {
	t := 0.0
	for _, l := range lists {
		for _, v := range l {
			t += v
		}
	}
	return t
}

func fmtNum(v float64) string {
	switch {
	case v < 0:
		return "?"
	case v >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return fmt.Sprintf("%.2f", v)
}

package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRun(t *testing.T) {
	tests := []struct {
		tool, out        string
		rps, count, errs float64
		p50ms            float64
	}{
		// wrk with --latency; a socket error line counts as errors.
		{"wrk", "  Latency Distribution\n     50%  350.00us\n  349510 requests in 3.10s, 49.66MB read\n  Socket errors: connect 0, read 3, write 0, timeout 1\nRequests/sec: 112772.01\n", 112772.01, 349510, 4, 0.35},
		// ab: the first "Time per request" is the mean per request.
		{"ab", "Complete requests:      339499\nFailed requests:        0\nRequests per second:    113158.26 [#/sec] (mean)\nTime per request:       0.442 [ms] (mean)\nTime per request:       0.009 [ms] (mean, across all concurrent requests)\n", 113158.26, 339499, 0, 0.442},
		// h2load: the mean is the third figure of "time for request".
		{"h2load", "finished in 3.00s, 112676.33 req/s, 16.01MB/s\nrequests: 338029 total, 338079 started, 338029 done, 338029 succeeded, 0 failed, 0 errored, 0 timeout\nstatus codes: 338029 2xx, 0 3xx, 0 4xx, 0 5xx\ntime for request:      244us      8.79ms       443us       207us    97.37%\n", 112676.33, 338029, 0, 0.443},
		// fortio: percentiles in seconds; non-200 codes are errors.
		{"fortio", "# target 50% 0.000519833\nCode 200 : 330515 (99.0 %)\nCode -1 : 10 (1.0 %)\nAll done 330525 calls (plus 50 warmup) 0.454 ms avg, 110161.2 qps\n", 110161.2, 330525, 10, 0.519833},
		// hey: status and error distributions.
		{"hey", "  Requests/sec:\t29642.6408\n  50%% in 0.0014 secs\nStatus code distribution:\n  [200]\t89076 responses\n  [503]\t4 responses\n\nError distribution:\n  [7]\tGet \"http://x\": dial tcp: refused\n", 29642.6408, 89076, 11, 1.4},
		// bench/eventloop: bad answers are errors; no latency.
		{"eventloop", "requests 99998  bad 2  late>1ms 37  in 10.00s (9999.8/s)\ncpu s per 100k 4.64  (user 0.23s sys 1.17s)  context switches per request 2.11\n", 9999.8, 99998, 2, -1},
		// vegeta report: throughput is the third figure; p50 the third latency.
		{"vegeta", "Requests      [total, rate, throughput]         96087, 32026.71, 32019.35\nLatencies     [min, mean, 50, 90, 95, 99, max]  37.475µs, 816.839µs, 677.061µs, 1.602ms, 1.977ms, 2.822ms, 12.22ms\nSuccess       [ratio]                           100.00%\n", 32019.35, 96087, 0, 0.677061},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.tool, func(t *testing.T) {
			p := filepath.Join(dir, tc.tool+".out")
			if err := os.WriteFile(p, []byte(tc.out), 0o644); err != nil {
				t.Fatal(err)
			}
			r := parseRun(tc.tool, p)
			for _, c := range []struct {
				name      string
				got, want float64
			}{{"rps", r.rps, tc.rps}, {"count", r.count, tc.count}, {"errs", r.errs, tc.errs}, {"p50ms", r.p50ms, tc.p50ms}} {
				if math.Abs(c.got-c.want) > 1e-6*math.Max(1, c.want) {
					t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
				}
			}
		})
	}
}

func TestTable(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, s string) {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Three repetitions of tailrace and wrk in S1: the median is the middle one.
	for i, v := range []string{"100", "300", "200"} {
		rep := string(rune('1' + i))
		write("s1/tailrace/"+rep+".out", "")
		write("s1/tailrace/"+rep+"/results.json", `{"arms":[{"duration_s":1,"counters":{"completed":`+v+`,"errors":0},"phases":{"total":{"count":1,"p50_us":500}}}]}`)
		write("s1/wrk/"+rep+".out", "Requests/sec: "+v+"\n  "+v+" requests in 1.00s\n")
		// nginx's worker busy for 0.9 s of tailrace's 1 s runs, 0.5 s of wrk's.
		write("s1/tailrace/"+rep+".out.meta", "cpu_s=1.000\nserver_cpu_s=0.90\n")
		write("s1/wrk/"+rep+".out.meta", "cpu_s=1.000\nserver_cpu_s=0.50\n")
	}
	// In S2 wrk ran as fast as tailrace in repetition 1, twice as fast in 2.
	for i, v := range []string{"100", "200"} {
		rep := string(rune('1' + i))
		write("s2/tailrace/"+rep+".out", "")
		write("s2/tailrace/"+rep+"/results.json", `{"arms":[{"duration_s":1,"counters":{"completed":100,"errors":0}}]}`)
		write("s2/wrk/"+rep+".out", "Requests/sec: "+v+"\n  "+v+" requests in 1.00s\n")
	}
	// S3: the default pacer and the tick pacer, 100,000 requests each.
	for _, tc := range []struct{ tool, cpu, p50, p99 string }{{"tailrace", "2.000", "300", "1150"}, {"tailrace-tick", "1.500", "580", "1050"}, {"tailrace-tick5", "1.200", "2700", "5100"}} {
		write("s3/"+tc.tool+"/1.out", "")
		write("s3/"+tc.tool+"/1.out.meta", "cpu_s="+tc.cpu+"\n")
		write("s3/"+tc.tool+"/1/results.json", `{"arms":[{"duration_s":10,"counters":{"completed":100000,"errors":0},"phases":{"schedule_lag":{"count":100000,"p50_us":`+tc.p50+`,"p99_us":`+tc.p99+`}}}]}`)
	}
	write("s3/fortio/1.out", "Code 200 : 100000 (100.0 %)\nAll done 100000 calls (plus 50 warmup) 0.454 ms avg, 10000.0 qps\n")
	write("s3/fortio/1.out.meta", "cpu_s=1.600\n")
	var b bytes.Buffer
	if err := table(&b, dir); err != nil {
		t.Fatal(err)
	}
	line := ""
	for l := range strings.SplitSeq(b.String(), "\n") {
		if strings.Contains(l, "S1 keep-alive") {
			line = l
		}
	}
	if f := strings.Fields(line); len(f) < 7 || !strings.Contains(line, "200.0") || !strings.Contains(line, "1.00x") {
		t.Errorf("S1 row %q: want medians 200.0 and ratio 1.00x\n%s", line, b.String())
	}
	for _, want := range []string{
		"in each repetition (run back to back): S1 1.00 1.00 1.00; S2 1.00 0.50\n",
		"CPU share while each tool sent load (median): S1: tailrace 90% wrk 50%\n",
		"S3 tailrace --pacer tick (1 ms grid, like wrk2): achieved 10000 req/s, CPU s per 100k 1.50 (0.75x of the default pacer's 2.00), schedule lag p50 0.58 p99 1.05 ms (default: p50 0.30 p99 1.15)\nS3 tailrace --pacer tick (--tick 5ms, bursts of 50 as plain fortio's): achieved 10000 req/s, CPU s per 100k 1.20 (0.60x of the default pacer's 2.00, 0.75x of fortio's), schedule lag p50 2.70 p99 5.10 ms (default: p50 0.30 p99 1.15)\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

// Command benchsum is bench/run.sh's helper: it runs one load tool and
// records the CPU time and peak memory it used (exec), and turns a whole
// bench run's outputs into one table of medians with ratios (table).
//
//	benchsum exec OUT -- wrk -c50 http://127.0.0.1:18080/
//	    runs the command with stdout and stderr to OUT and writes
//	    OUT.meta: cpu_s, maxrss_kb, wall_s, exit.
//	benchsum table DIR
//	    reads DIR/<scenario>/<tool>/<rep>.out (and, for tailrace,
//	    <rep>/results.json), takes each cell's median over the
//	    repetitions and prints the table.
//
// It parses each tool's own summary (wrk, ab, h2load, fortio, hey, vegeta,
// tailrace's results.json); a cell it cannot read shows "?", a tool that
// was not run "-", and a cell whose run saw more than 0.1% errors is
// marked "!".
package main

// Package cli turns command lines into configurations and runs them: the
// logic of the tailrace commands, kept out of package main so that tests run
// it in-process (Coordinator(ctx, args, stdout, stderr) returns the exit code).
//
// Bad input returns an error naming the flag, the value and the expected form,
// and exits with code 2 before anything is sent; exit code 3 says the run is
// incomplete, and whatever was measured until then is still written.
package cli

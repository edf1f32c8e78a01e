// Package tailracepb is the generated Go code of tailrace.proto: the
// messages of the coordinator-worker session (DESIGN.md §7) and of the
// coordinator's journal. Edit tailrace.proto and run proto/gen.sh; never edit
// the .pb.go files by hand (CI's proto/check.sh fails when they are stale).
//
// Package cluster is the only user: it converts between these messages and
// the histogram, loadgen and schedule types, so nothing else imports gRPC.
package tailracepb

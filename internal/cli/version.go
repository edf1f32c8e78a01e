package cli

import "github.com/tailrace/tailrace/loadgen"

func version() string { return loadgen.Version }

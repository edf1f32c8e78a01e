package tailracepb_test

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	tailracepb "github.com/tailrace/tailrace/proto"
)

// Every session opens with the worker's Hello; the coordinator reads its
// name, versions and caps before anything else.
func Example() {
	hello := &tailracepb.WorkerMessage{Kind: &tailracepb.WorkerMessage_Hello{Hello: &tailracepb.Hello{
		Protocol: 1, Version: "0.1.0", Name: "w1",
		Limits: &tailracepb.Limits{MaxRate: 5000, AllowTarget: []string{"10.0.0.0/8"}},
	}}}
	b, err := proto.Marshal(hello)
	if err != nil {
		panic(err)
	}
	var got tailracepb.WorkerMessage
	if err := proto.Unmarshal(b, &got); err != nil {
		panic(err)
	}
	h := got.GetHello()
	fmt.Println(h.GetName(), h.GetVersion(), h.GetLimits().GetMaxRate(), h.GetLimits().GetAllowTarget())
	// Output: w1 0.1.0 5000 [10.0.0.0/8]
}

package cluster_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"google.golang.org/grpc/test/bufconn"

	"github.com/tailrace/tailrace/cluster"
	"github.com/tailrace/tailrace/loadgen"
	"github.com/tailrace/tailrace/loadgen/schedule"
)

// A coordinator and two workers in one process, joined over an in-memory
// listener: the same session as across hosts.
func ExampleServer() {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer target.Close()

	lis := bufconn.Listen(1 << 20)
	srv := cluster.NewServer(cluster.ServerConfig{Token: "s3cret"})
	go srv.Serve(lis)
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, name := range []string{"w1", "w2"} {
		go cluster.JoinAndWork(ctx, cluster.JoinConfig{
			Addr: "coordinator", Name: name, Token: "s3cret",
			Dial: func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) },
		})
	}
	joinCtx, stop := context.WithTimeout(ctx, 30*time.Second)
	defer stop()
	workers, err := srv.Await(joinCtx, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	u, _ := url.Parse(target.URL)
	res, err := cluster.Run(ctx, cluster.Config{
		Engine:  loadgen.Config{URL: u, Connections: 2, Shards: 1},
		Modes:   []loadgen.Mode{loadgen.ModeKeepAlive},
		Plan:    schedule.Plan{Stages: schedule.Steady(100, time.Second)},
		Workers: workers,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range res.Workers {
		fmt.Printf("%s: segment %s, local %v\n", w.Name, w.Segment, w.Local)
	}
	fmt.Println("requests sent:", res.Arms[0].Counters.Sent)
	// Output:
	// w1: segment 0:1/2, local false
	// w2: segment 1:2/2, local false
	// requests sent: 100
}

// A coordinator listening beyond loopback must know who joins.
func ExampleCheckExposure() {
	any := &net.TCPAddr{IP: net.IPv4zero, Port: 7070}
	fmt.Println(cluster.CheckExposure(any, false, false) != nil)
	fmt.Println(cluster.CheckExposure(any, true, false))
	// Output:
	// true
	// <nil>
}

package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while Main writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestMainUsage(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string // in stderr
	}{
		{"unknown flag", []string{"--nope"}, 2, "nope"},                                           // pflag names it
		{"bad duration", []string{"--tls-delay", "soon"}, 2, "tls-delay"},                         // not a duration
		{"bad int", []string{"--max-concurrent", "many"}, 2, "max-concurrent"},                    // not a number
		{"delay without tls", []string{"--tls-delay", "1s"}, 2, "--tls-delay"},                    // the delay could never apply
		{"endless stall", []string{"--stall-every", "1s", "--stall-for", "2s"}, 2, "--stall-for"}, // window longer than period
		{"period without length", []string{"--stall-every", "1s"}, 2, "--stall-for"},              // half a stall
		{"negative capacity", []string{"--max-concurrent", "-1"}, 2, "--max-concurrent"},          // negative
		{"listen without port", []string{"--listen", "localhost"}, 2, "--listen"},                 // not host:port
		{"positional", []string{"extra"}, 2, "unexpected argument"},                               // settings are flags
		{"help", []string{"--help"}, 0, "--stall-every"},                                          // usage lists the flags
		{"port busy", []string{"--listen", busy.Addr().String()}, 1, "target: listen"},            // not usage: exit 1
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
			code := Main(t.Context(), tt.args, &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("Main(%q) = %d, stderr %q; want %d and %q", tt.args, code, stderr.String(), tt.wantCode, tt.wantErr)
			}
		})
	}
}

func TestMainServesUntilCanceled(t *testing.T) {
	for _, tls := range []bool{false, true} {
		args := []string{"--listen", "127.0.0.1:0", "--stall-every", "1h", "--stall-for", "1s"}
		scheme := "http://"
		if tls {
			args = append(args, "--tls")
			scheme = "https://"
		}
		ctx, cancel := context.WithCancel(t.Context())
		var stdout, stderr syncBuffer
		code := make(chan int)
		go func() { code <- Main(ctx, args, &stdout, &stderr) }()

		deadline := time.Now().Add(5 * time.Second)
		for !strings.HasSuffix(stdout.String(), "\n") && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
		url := strings.TrimSpace(stdout.String())
		if !strings.HasPrefix(url, scheme+"127.0.0.1:") {
			t.Fatalf("stdout %q, want the %s URL", stdout.String(), scheme)
		}
		if !tls {
			resp, err := http.Get(url + "/?size=3")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != "oko" {
				t.Errorf("body %q, want oko", body)
			}
			http.DefaultClient.CloseIdleConnections()
		}
		cancel()
		select {
		case c := <-code:
			if c != 0 {
				t.Errorf("exit code %d after cancel, stderr %q", c, stderr.String())
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Main did not return after its context was canceled")
		}
	}
}

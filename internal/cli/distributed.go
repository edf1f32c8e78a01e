package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/tailrace/tailrace/cluster"
)

// distOptions are the flags of `coordinator run` for remote workers.
type distOptions struct {
	workers       int
	listen        string
	joinTimeout   time.Duration
	token         string
	tlsCert       string
	tlsKey        string
	tlsCA         string
	onLoss        string
	orphanTimeout time.Duration
}

// defaultListen is loopback: a coordinator is reachable from other hosts
// only when asked, and then only with a token or mTLS. A fixed port lets
// workers be started first (they keep trying for their --join-timeout).
const defaultListen = "127.0.0.1:7070"

func (d *distOptions) flags(fs *pflag.FlagSet) {
	fs.IntVar(&d.workers, "workers", 0, "remote workers to wait for (they join with: worker --join HOST:PORT); with it --local defaults to 0")
	fs.StringVar(&d.listen, "listen", defaultListen, "address workers join, host:port (port 0 picks one; the address is printed). Beyond loopback it needs --token or mTLS")
	fs.DurationVar(&d.joinTimeout, "join-timeout", 30*time.Second, "how long to wait for --workers to join")
	fs.StringVar(&d.token, "token", "", "shared secret every worker must present (default $TAILRACE_TOKEN)")
	fs.StringVar(&d.tlsCert, "tls-cert", "", "serve workers over TLS with this certificate (PEM)")
	fs.StringVar(&d.tlsKey, "tls-key", "", "the key of --tls-cert (PEM)")
	fs.StringVar(&d.tlsCA, "tls-ca", "", "with --tls-cert: admit only workers holding a certificate of these CAs (mutual TLS)")
	fs.StringVar(&d.onLoss, "on-worker-loss", "continue", "when a worker is lost mid-run: continue (its windows are marked short) or abort; either way the exit code is 3")
	fs.DurationVar(&d.orphanTimeout, "orphan-timeout", 5*time.Second, "workers stop their load after this long without a word from the coordinator")
}

// check validates the flags; local is --local, which defaults to 0 when
// remote workers are expected.
func (d *distOptions) check(fs *pflag.FlagSet, local *int) error {
	if d.token == "" {
		d.token = os.Getenv("TAILRACE_TOKEN")
	}
	if d.workers < 0 {
		return usagef("--workers %d must not be negative", d.workers)
	}
	if d.workers > 0 && !fs.Changed("local") {
		*local = 0
	}
	if *local < 0 || (*local == 0 && d.workers == 0) {
		return usagef("--local %d must be at least 1 (or give --workers N for remote workers)", *local)
	}
	if d.onLoss != string(cluster.LossContinue) && d.onLoss != string(cluster.LossAbort) {
		return usagef("--on-worker-loss %q: want continue or abort", d.onLoss)
	}
	if d.orphanTimeout <= 0 || d.joinTimeout <= 0 {
		return usagef("--orphan-timeout %v and --join-timeout %v must be positive", d.orphanTimeout, d.joinTimeout)
	}
	if d.workers == 0 {
		for _, f := range []string{"listen", "join-timeout", "token", "tls-cert", "tls-key", "tls-ca", "on-worker-loss", "orphan-timeout"} {
			if fs.Changed(f) {
				return usagef("--%s needs --workers N (remote workers)", f)
			}
		}
		return nil
	}
	if (d.tlsCert == "") != (d.tlsKey == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	if d.tlsCA != "" && d.tlsCert == "" {
		return usagef("--tls-ca needs --tls-cert and --tls-key (the coordinator's own certificate)")
	}
	if _, _, err := net.SplitHostPort(d.listen); err != nil {
		return usagef("--listen %q: want host:port, e.g. 127.0.0.1:7070 or 0.0.0.0:7070", d.listen)
	}
	return nil
}

func (d *distOptions) tlsConfig() (*tls.Config, error) {
	if d.tlsCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(d.tlsCert, d.tlsKey)
	if err != nil {
		return nil, usagef("--tls-cert/--tls-key: %v", err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if d.tlsCA != "" {
		pool, err := loadPool("--tls-ca", d.tlsCA)
		if err != nil {
			return nil, err
		}
		c.ClientCAs, c.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return c, nil
}

func loadPool(flag, path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("%s: %v", flag, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, usagef("%s %s: no PEM certificates found", flag, path)
	}
	return pool, nil
}

// join listens for the remote workers and waits until they have all joined.
// The returned func ends their sessions: call it when the run is over.
func (d *distOptions) join(ctx context.Context, stderr io.Writer) ([]cluster.Worker, func(), error) {
	if d.workers == 0 {
		return nil, func() {}, nil
	}
	tc, err := d.tlsConfig()
	if err != nil {
		return nil, nil, err
	}
	lis, err := net.Listen("tcp", d.listen)
	if err != nil {
		return nil, nil, fmt.Errorf("cli: --listen %s: %w", d.listen, err)
	}
	mtls := tc != nil && tc.ClientAuth == tls.RequireAndVerifyClientCert
	if err := cluster.CheckExposure(lis.Addr(), d.token != "", mtls); err != nil {
		lis.Close()
		return nil, nil, usageError{err}
	}
	if d.token != "" && tc == nil && !lis.Addr().(*net.TCPAddr).IP.IsLoopback() {
		fmt.Fprintf(stderr, "warning: without --tls-cert the token travels in clear text on %s\n", lis.Addr())
	}
	srv := cluster.NewServer(cluster.ServerConfig{Token: d.token, TLS: tc, OrphanTimeout: d.orphanTimeout, Log: stderr})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	closeSrv := func() {
		srv.Close()
		<-served
	}
	fmt.Fprintf(stderr, "listening on %s, waiting for %d workers (worker --join %s)\n", lis.Addr(), d.workers, lis.Addr())
	jctx, cancel := context.WithTimeout(ctx, d.joinTimeout)
	defer cancel()
	ws, err := srv.Await(jctx, d.workers)
	if err != nil {
		closeSrv()
		if errors.Is(err, cluster.ErrIncomplete) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("%w (--join-timeout %v)", err, d.joinTimeout)
	}
	return ws, closeSrv, nil
}

// listensLocally reports whether --listen is a loopback address, where
// workers can only be on this host.
func (d *distOptions) listensLocally() bool {
	host, _, _ := net.SplitHostPort(d.listen)
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

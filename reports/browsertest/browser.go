package browsertest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Find returns the Chromium to drive: $TAILRACE_CHROMIUM if set, else the
// first of chromium, chromium-browser, google-chrome on $PATH.
func Find() (string, error) {
	if p := os.Getenv("TAILRACE_CHROMIUM"); p != "" {
		return exec.LookPath(p)
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errNoBrowser
}

// Browser is a headless Chromium with networking disabled, driven over
// the DevTools pipe. Make one with Launch and Close it. Safe for
// concurrent use; each Check opens its own tab.
type Browser struct {
	cmd     *exec.Cmd
	c       *cdp
	profile string
	stderr  *lockedBuffer
	closeMu sync.Once
}

// Launch starts Chromium. Networking is disabled three ways: every host
// name resolves to nothing, every connection goes to a proxy on a closed
// loopback port, and each tab is emulated offline; background services
// (updates, sync, metrics) are off. So a page that tries to fetch anything
// fails to, and the attempt is recorded.
func Launch(ctx context.Context, bin string) (*Browser, error) {
	profile, err := os.MkdirTemp("", "tailrace-chromium-")
	if err != nil {
		return nil, fmt.Errorf("browsertest: %w", err)
	}
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
		"--user-data-dir=" + profile, "--no-first-run", "--no-default-browser-check",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-default-apps", "--disable-quic", "--metrics-recording-only",
		"--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,AutofillServerCommunication",
		"--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
		"--hide-scrollbars", "--mute-audio", "about:blank",
	}
	cmd := exec.Command(bin, args...)
	toChrome, fd3, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("browsertest: %w", err)
	}
	fromChrome, fd4, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("browsertest: %w", err)
	}
	// Chromium reads commands on fd 3 and writes replies on fd 4.
	cmd.ExtraFiles = []*os.File{toChrome, fd4}
	b := &Browser{cmd: cmd, profile: profile, stderr: &lockedBuffer{}}
	cmd.Stderr = b.stderr
	if err := cmd.Start(); err != nil {
		os.RemoveAll(profile)
		return nil, fmt.Errorf("browsertest: start %s: %w", bin, err)
	}
	toChrome.Close()
	fd4.Close()
	b.c = newCDP(fd3, fromChrome)
	var v struct{ Product string }
	if err := b.c.call(ctx, "", "Browser.getVersion", nil, &v); err != nil {
		b.Close()
		return nil, fmt.Errorf("%w\nchromium stderr:\n%s", err, b.stderr.String())
	}
	return b, nil
}

// Close ends the browser and removes its profile.
func (b *Browser) Close() error {
	b.closeMu.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.c.call(ctx, "", "Browser.close", nil, nil)
		done := make(chan struct{})
		go func() { b.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			b.cmd.Process.Kill()
			<-done
		}
		os.RemoveAll(b.profile)
	})
	return nil
}

// Chart is what the browser drew of one svg[data-chart].
type Chart struct {
	ID     string  `json:"id"`
	Kind   string  `json:"kind"`
	Points int     `json:"points"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
	Marks  int     `json:"marks"` // lines of non-zero length, bars and dots actually laid out
}

// Result is what happened when a page was opened.
type Result struct {
	URL        string
	Requests   []string // URLs the page tried to load, other than itself
	Console    []string // console errors, exceptions, CSP violations
	Charts     []Chart
	Screenshot []byte // PNG of the whole page
	PDF        []byte // the page as printed
}

// Problems lists every way the page failed: a request attempted, an error
// logged, a chart drawn without data. Empty means the page is good.
func (r *Result) Problems() []string {
	var ps []string
	for _, u := range r.Requests {
		ps = append(ps, "request attempted: "+u)
	}
	for _, m := range r.Console {
		ps = append(ps, "console: "+m)
	}
	for _, c := range r.Charts {
		if c.Points <= 0 || c.Marks <= 0 || c.Width <= 0 || c.Height <= 0 {
			ps = append(ps, fmt.Sprintf("chart %s (%s) not drawn with data: %d points, %d marks, %.0fx%.0f px", c.ID, c.Kind, c.Points, c.Marks, c.Width, c.Height))
		}
	}
	return ps
}

// chartsJS measures every chart after layout: its size, and the marks of
// data in it that have a size of their own.
const chartsJS = `JSON.stringify(Array.from(document.querySelectorAll("svg[data-chart]")).map(function (s) {
  var r = s.getBoundingClientRect(), marks = 0;
  s.querySelectorAll("path.ln, rect.seg, circle.dot").forEach(function (m) {
    var bb = m.getBBox();
    if (m.tagName === "path" ? m.getTotalLength() > 0 : bb.width > 0 && bb.height > 0) marks++;
  });
  return {id: s.id, kind: s.getAttribute("data-chart"), points: +s.getAttribute("data-points"), width: r.width, height: r.height, marks: marks};
}))`

// Check opens the file at path in a new tab, waits for it to load and run
// its script, and reports what it requested, logged and drew; with
// capture, also a full-page screenshot and a print to PDF (a second or
// two for a long page).
func (b *Browser) Check(ctx context.Context, path string, capture bool) (*Result, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("browsertest: %w", err)
	}
	page := (&url.URL{Scheme: "file", Path: abs}).String()
	res := &Result{URL: page}
	var target struct{ TargetID string }
	if err := b.c.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		return nil, err
	}
	defer b.c.call(context.WithoutCancel(ctx), "", "Target.closeTarget", map[string]any{"targetId": target.TargetID}, nil)
	var att struct{ SessionID string }
	if err := b.c.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att); err != nil {
		return nil, err
	}
	s := att.SessionID
	for _, step := range []struct {
		method string
		params any
	}{
		{"Page.enable", nil}, {"Runtime.enable", nil}, {"Log.enable", nil}, {"Network.enable", nil},
		{"Network.emulateNetworkConditions", map[string]any{"offline": true, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}},
		{"Emulation.setDeviceMetricsOverride", map[string]any{"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}},
	} {
		if err := b.c.call(ctx, s, step.method, step.params, nil); err != nil {
			return nil, err
		}
	}
	var nav struct{ ErrorText string }
	if err := b.c.call(ctx, s, "Page.navigate", map[string]any{"url": page}, &nav); err != nil {
		return nil, err
	}
	if nav.ErrorText != "" {
		return nil, fmt.Errorf("browsertest: open %s: %s", page, nav.ErrorText)
	}
	if err := b.c.waitEvent(ctx, s, func(m message) bool { return m.Method == "Page.loadEventFired" }); err != nil {
		return nil, err
	}
	// Two animation frames: the script has run and the page is laid out.
	if err := b.eval(ctx, s, `new Promise(function (r) { requestAnimationFrame(function () { requestAnimationFrame(function () { r("ok"); }); }); })`, nil); err != nil {
		return nil, err
	}
	var charts string
	if err := b.eval(ctx, s, chartsJS, &charts); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(charts), &res.Charts); err != nil {
		return nil, fmt.Errorf("browsertest: charts: %w", err)
	}
	if capture {
		if res.Screenshot, err = b.screenshot(ctx, s); err != nil {
			return nil, err
		}
		var pdf struct{ Data string }
		if err := b.c.call(ctx, s, "Page.printToPDF", map[string]any{"printBackground": true}, &pdf); err != nil {
			return nil, err
		}
		if res.PDF, err = base64.StdEncoding.DecodeString(pdf.Data); err != nil {
			return nil, fmt.Errorf("browsertest: pdf: %w", err)
		}
	}
	res.collect(b.c.sessionEvents(s))
	return res, nil
}

func (b *Browser) eval(ctx context.Context, session, expr string, out *string) error {
	var r struct {
		Result           struct{ Value any }
		ExceptionDetails *struct{ Text string }
	}
	if err := b.c.call(ctx, session, "Runtime.evaluate", map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true}, &r); err != nil {
		return err
	}
	if r.ExceptionDetails != nil {
		return fmt.Errorf("browsertest: evaluate: %s", r.ExceptionDetails.Text)
	}
	if out != nil {
		s, _ := r.Result.Value.(string)
		*out = s
	}
	return nil
}

func (b *Browser) screenshot(ctx context.Context, session string) ([]byte, error) {
	var m struct {
		CSSContentSize struct{ Width, Height float64 }
	}
	if err := b.c.call(ctx, session, "Page.getLayoutMetrics", nil, &m); err != nil {
		return nil, err
	}
	clip := map[string]any{"x": 0, "y": 0, "width": m.CSSContentSize.Width, "height": m.CSSContentSize.Height, "scale": 1}
	var shot struct{ Data string }
	if err := b.c.call(ctx, session, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true, "clip": clip}, &shot); err != nil {
		return nil, err
	}
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		return nil, fmt.Errorf("browsertest: screenshot: %w", err)
	}
	return png, nil
}

// collect reads a tab's events: requests other than the page itself and
// data: URLs, and every error the console saw.
func (r *Result) collect(events []message) {
	for _, m := range events {
		switch m.Method {
		case "Network.requestWillBeSent":
			var p struct{ Request struct{ URL string } }
			if json.Unmarshal(m.Params, &p) == nil && p.Request.URL != r.URL && !strings.HasPrefix(p.Request.URL, "data:") {
				r.Requests = append(r.Requests, p.Request.URL)
			}
		case "Runtime.exceptionThrown":
			var p struct {
				ExceptionDetails struct {
					Text      string
					Exception struct{ Description string }
				}
			}
			if json.Unmarshal(m.Params, &p) == nil {
				r.Console = append(r.Console, "exception: "+p.ExceptionDetails.Text+" "+p.ExceptionDetails.Exception.Description)
			}
		case "Runtime.consoleAPICalled":
			var p struct {
				Type string
				Args []struct {
					Value       any
					Description string
				}
			}
			if json.Unmarshal(m.Params, &p) == nil && (p.Type == "error" || p.Type == "assert") {
				var parts []string
				for _, a := range p.Args {
					parts = append(parts, fmt.Sprint(a.Value)+a.Description)
				}
				r.Console = append(r.Console, "console."+p.Type+": "+strings.Join(parts, " "))
			}
		case "Log.entryAdded":
			var p struct {
				Entry struct{ Source, Level, Text, URL string }
			}
			if json.Unmarshal(m.Params, &p) == nil && p.Entry.Level == "error" {
				r.Console = append(r.Console, fmt.Sprintf("%s error: %s %s", p.Entry.Source, p.Entry.Text, p.Entry.URL))
			}
		}
	}
}

// lockedBuffer keeps Chromium's stderr for error messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 64<<10 {
		return len(p), nil // enough to say why it failed
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

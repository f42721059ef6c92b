package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// startServe runs `clawcensus serve` on a free loopback port and returns its base URL.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(cliBinary, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = testEnv()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if m := regexp.MustCompile(`serving (http://127\.0\.0\.1:\d+)/`).FindStringSubmatch(sc.Text()); m != nil {
			go func() {
				for sc.Scan() {
				}
			}()
			return m[1]
		}
	}
	t.Fatalf("serve did not start")
	return ""
}

// artefacts is where the browser test leaves its screenshots: $CLAWCENSUS_ARTIFACTS, or a
// temporary directory.
func artefacts(t *testing.T) string {
	if d := os.Getenv("CLAWCENSUS_ARTIFACTS"); d != "" {
		os.MkdirAll(d, 0o755)
		return d
	}
	return t.TempDir()
}

// notBlank fails unless the PNG has ink: more than 1% of its pixels differ from the corner's
// colour and it has several colours.
func notBlank(t *testing.T, name string, b []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	r := img.Bounds()
	bg := img.At(r.Min.X, r.Min.Y)
	colours := map[[4]uint32]bool{}
	ink := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := img.At(x, y)
			r1, g1, b1, a1 := c.RGBA()
			colours[[4]uint32{r1 >> 8, g1 >> 8, b1 >> 8, a1 >> 8}] = true
			if c != bg {
				ink++
			}
		}
	}
	if r.Dx() < 100 || r.Dy() < 100 || ink*100 < r.Dx()*r.Dy() || len(colours) < 4 {
		t.Errorf("%s looks blank: %dx%d, %d inked pixels, %d colours", name, r.Dx(), r.Dy(), ink, len(colours))
	}
}

// TestServeInChromium opens the web view in a real headless Chromium: the runs page with its
// trend chart, a search by address with the evidence, and a run's report whose every chart
// renders. Screenshots are kept as artefacts.
func TestServeInChromium(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed; .ci/run installs it (apt-get install chromium)")
		}
		t.Skip("chromium is not installed (apt-get install chromium)")
	}
	gw := "../../fingerprint/testdata/gateways/"
	var ports []string
	for _, f := range []string{"openclaw-2026.9.6-none.txtar", "openclaw-2026.3.8-token.txtar", "clawdbot-2026.1.24-3-none.txtar"} {
		ports = append(ports, fmt.Sprint(serveFixture(t, gw+f)))
	}
	db := filepath.Join(t.TempDir(), "web.db")
	res := runCLI(t, "", "scan", "--lab", "--scan-type", "connect", "--ports", strings.Join(ports, ","), "--db", db, "127.0.0.1")
	if res.code != 0 {
		t.Fatalf("scan: exit %d\n%s", res.code, res.stderr)
	}
	base := startServe(t, "--db", db)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 1600))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	dir := artefacts(t)

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	get := func(what string, a chromedp.Action[string]) string {
		t.Helper()
		s, err := chromedp.Run(ctx, a)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return s
	}
	shot := func(what string, a chromedp.Action[[]byte], file string) []byte {
		t.Helper()
		b, err := chromedp.Run(ctx, a)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		os.WriteFile(filepath.Join(dir, file), b, 0o644)
		return b
	}

	do("open the runs page", chromedp.Navigate(base+"/"), chromedp.WaitVisible("#chart-trend svg"))
	if got := get("headline", chromedp.Text("#detected")); got != "3" {
		t.Errorf("the page says %q gateways, want 3", got)
	}
	labels := get("trend chart text", chromedp.TextContent("#chart-trend svg"))
	for _, label := range []string{"gateways (per ip:port)", "no auth", time.Now().UTC().Format("2006-01-02")} {
		if !strings.Contains(labels, label) {
			t.Errorf("the trend chart lacks %q: %q", label, labels)
		}
	}
	notBlank(t, "trend chart", shot("trend chart", chromedp.Screenshot("#chart-trend"), "serve-trend-chart.png"))
	shot("runs page", chromedp.FullScreenshot(100), "serve-runs.png")

	do("search", chromedp.SendKeys("#q", "127.0.0.1"), chromedp.Click("#search-button"), chromedp.WaitVisible("#hits tr.hit"))
	hits := get("search result", chromedp.Text("#hits"))
	for _, want := range []string{"2026.9.6", "2026.3.8", "clawdbot", "marker openclaw/title on GET /", "host-terminal-enabled"} {
		if !strings.Contains(hits, want) {
			t.Errorf("the search result lacks %q:\n%s", want, hits)
		}
	}
	if count := get("search count", chromedp.Text("#count")); !strings.HasPrefix(count, "3 gateway") {
		t.Errorf("search count %q", count)
	}
	shot("search page", chromedp.FullScreenshot(100), "serve-search.png")

	do("open run 1's report", chromedp.Navigate(base+"/runs/1"), chromedp.WaitVisible("#methodology"))
	ids, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("figure")).map(f => f.id)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) < 3 {
		t.Errorf("the report has %d charts: %v", len(ids), ids)
	}
	for _, id := range ids {
		notBlank(t, id, shot(id, chromedp.Screenshot("#"+id), "report-"+id+".png"))
	}
	shot("report page", chromedp.FullScreenshot(100), "report-page.png")
	t.Logf("screenshots in %s", dir)
}

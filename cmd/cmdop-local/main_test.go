package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	var stderr syncBuffer
	state := filepath.Join(t.TempDir(), "state.json")
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--state", state, "--fleet-id", "smoke"}, outW, &stderr)
		outW.Close()
	}()

	env := map[string]string{}
	sc := bufio.NewScanner(outR)
	for len(env) < 3 && sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
		if !ok || !strings.HasPrefix(sc.Text(), "export ") {
			t.Fatalf("unexpected stdout line %q", sc.Text())
		}
		env[k] = v
	}
	go func() { _, _ = io.Copy(io.Discard, outR) }()
	base, token := env["CMDOP_API_BASE_URL"], env["CMDOP_TOKEN"]
	if !strings.HasPrefix(base, "http://127.0.0.1:") || strings.HasSuffix(base, ":0") || !strings.HasPrefix(token, "cmdop_") || env["CMDOP_FLEET_ID"] != "smoke" {
		t.Fatalf("exports: %v", env)
	}

	req, _ := http.NewRequest("GET", base+"/api/fleets/smoke/api-keys", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("X-Request-Id") == "" {
		t.Fatalf("GET: %d", res.StatusCode)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	logs := stderr.String()
	if !strings.Contains(logs, "GET /api/fleets/smoke/api-keys status=200 request_id=req_") {
		t.Errorf("request not logged:\n%s", logs)
	}
	if strings.Contains(logs, token) || strings.Contains(logs, "Bearer") {
		t.Errorf("the log leaks the token:\n%s", logs)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--nope"}, {"extra"}, {"--admin-token", "short"}, {"--fail-rate", "2"}} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%v) succeeded", args)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"abc": "abc", "http://127.0.0.1:80": "http://127.0.0.1:80", "": "''", "a b": "'a b'", "it's": `'it'\''s'`} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRunPrintsVersion(t *testing.T) {
	var stdout, stderr strings.Builder
	if err := run(context.Background(), []string{"--version"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if got, want := stdout.String(), versionString()+"\n"; got != want {
		t.Errorf("--version printed %q, want %q", got, want)
	}
	if !strings.HasPrefix(stdout.String(), "cmdop-local ") {
		t.Errorf("--version printed %q, want cmdop-local <version>", stdout.String())
	}
}

// TestVersionFromLdflags builds the command the way .goreleaser.yml does
// (-X main.version=...) and checks that --version reports that version.
func TestVersionFromLdflags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "cmdop-local")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=9.8.7-test", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), "cmdop-local 9.8.7-test\n"; got != want {
		t.Errorf("--version printed %q, want %q", got, want)
	}
}

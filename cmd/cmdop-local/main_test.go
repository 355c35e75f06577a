package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
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

// startRun runs the command with args and returns its exports, and a stop
// function that cancels it and returns its error and log.
func startRun(t *testing.T, args ...string) (map[string]string, func() (string, error)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, outW, &stderr)
		outW.Close()
	}()
	env := map[string]string{}
	sc := bufio.NewScanner(outR)
	for len(env) < 4 && sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
		if !ok || !strings.HasPrefix(sc.Text(), "export ") {
			t.Fatalf("unexpected stdout line %q", sc.Text())
		}
		env[k] = v
	}
	if len(env) < 4 {
		cancel()
		t.Fatalf("got %d export lines, want 4; stderr:\n%s", len(env), stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, outR) }()
	stopped := false
	stop := func() (string, error) {
		if stopped {
			return stderr.String(), nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return stderr.String(), err
		case <-time.After(10 * time.Second):
			t.Fatal("run did not return after cancel")
		}
		return "", nil
	}
	t.Cleanup(func() { _, _ = stop() })
	return env, stop
}

func get(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("X-Request-Id") == "" {
		t.Errorf("GET %s: no X-Request-Id", url)
	}
	return res.StatusCode
}

func TestRunServesAndShutsDown(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.db")
	env, stop := startRun(t, "--addr", "127.0.0.1:0", "--state", state, "--fleet-id", "smoke")
	base, token, ctl := env["CMDOP_API_BASE_URL"], env["CMDOP_TOKEN"], env["CMDOP_LOCAL_CONTROL_TOKEN"]
	if !strings.HasPrefix(base, "http://127.0.0.1:") || strings.HasSuffix(base, ":0") || !strings.HasPrefix(token, "cmdop_") || env["CMDOP_FLEET_ID"] != "smoke" || len(ctl) < 32 {
		t.Fatalf("exports: %v", env)
	}
	if code := get(t, base+"/api/fleets/smoke/api-keys", token); code != 200 {
		t.Fatalf("GET with the admin token: %d", code)
	}
	if code := get(t, base+"/_local/clock", token); code != 403 {
		t.Fatalf("GET /_local/clock with the admin token: %d, want 403", code)
	}
	if code := get(t, base+"/_local/clock", ctl); code != 200 {
		t.Fatalf("GET /_local/clock with the control token: %d", code)
	}

	logs, err := stop()
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(logs, "GET /api/fleets/smoke/api-keys status=200 request_id=req_") {
		t.Errorf("request not logged:\n%s", logs)
	}
	if strings.Contains(logs, token) || strings.Contains(logs, ctl) || strings.Contains(logs, "Bearer") {
		t.Errorf("the log leaks a token:\n%s", logs)
	}
}

// TestSecretsWithoutArgv gives the admin token through the environment and
// through a file, and the control token through the environment, so that
// neither shows in ps.
func TestSecretsWithoutArgv(t *testing.T) {
	const admin = "cmdop_SecretsWithoutArgvTest0123456789abcdef"
	const ctl = "control-token-from-the-environment-0123"
	t.Setenv("CMDOP_LOCAL_ADMIN_TOKEN", admin)
	t.Setenv("CMDOP_LOCAL_CONTROL_TOKEN", ctl)
	env, stop := startRun(t, "--addr", "127.0.0.1:0")
	if env["CMDOP_TOKEN"] != admin || env["CMDOP_LOCAL_CONTROL_TOKEN"] != ctl {
		t.Fatalf("exports %v do not carry the tokens from the environment", env)
	}
	if code := get(t, env["CMDOP_API_BASE_URL"]+"/_local/stats", ctl); code != 200 {
		t.Fatalf("control token from the environment: %d", code)
	}
	_, _ = stop()

	file := filepath.Join(t.TempDir(), "admin")
	if err := os.WriteFile(file, []byte(admin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CMDOP_LOCAL_ADMIN_TOKEN", "")
	t.Setenv("CMDOP_LOCAL_CONTROL_TOKEN", "")
	env, _ = startRun(t, "--addr", "127.0.0.1:0", "--admin-token-file", file)
	if env["CMDOP_TOKEN"] != admin || env["CMDOP_LOCAL_CONTROL_TOKEN"] == ctl {
		t.Fatalf("exports %v", env)
	}
	if code := get(t, env["CMDOP_API_BASE_URL"]+"/api/account/api-tokens", admin); code != 200 {
		t.Fatalf("admin token from a file: %d", code)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--nope"}, {"extra"}, {"--admin-token", "short"}, {"--fail-rate", "2"},
		{"--control-token", "short"}, {"--admin-token-file", "/nonexistent"},
		{"--admin-token", "x", "--admin-token-file", "y"}, {"--audit-retention", "soon"}, {"--audit-retention", "0"},
		{"--audit-retention-total", "0"}, {"--audit-retention-total", "many"},
	} {
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
	// A test binary has no -X main.version and no module version: "dev".
	// (TestVersionFromLdflags checks the released form.)
	if got, want := stdout.String(), "cmdop-local dev\n"; got != want {
		t.Errorf("--version printed %q, want %q", got, want)
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

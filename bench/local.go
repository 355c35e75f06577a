package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// localAPI is one running cmdop-local.
type localAPI struct {
	cmd     *exec.Cmd
	baseURL string
	token   string // admin token
	control string // control token of /_local/
	fleetID string
	waitErr chan error
	http    *http.Client
}

// startLocal starts cmdop-local on a free loopback port with the given
// latency, its per-request log going to logPath, and reads the four export
// lines it prints.
func startLocal(ctx context.Context, bin string, latency time.Duration, logPath string) (*localAPI, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "--addr", "127.0.0.1:0", "--latency", latency.String())
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := startGroup(cmd); err != nil {
		logFile.Close()
		return nil, err
	}
	api := &localAPI{
		cmd:     cmd,
		waitErr: make(chan error, 1),
		http: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 64, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second,
		}},
	}
	vars := map[string]string{}
	lines := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for len(vars) < 4 && sc.Scan() {
			k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
			if ok {
				vars[k] = strings.Trim(v, "'")
			}
		}
		if len(vars) < 4 {
			lines <- fmt.Errorf("cmdop-local printed %d of its 4 export lines (see %s)", len(vars), logPath)
			return
		}
		lines <- nil
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		api.waitErr <- cmd.Wait()
		logFile.Close()
	}()
	select {
	case err := <-lines:
		if err != nil {
			api.stop()
			return nil, err
		}
	case <-time.After(30 * time.Second):
		api.stop()
		return nil, fmt.Errorf("cmdop-local did not start within 30s (see %s)", logPath)
	}
	api.baseURL, api.token, api.fleetID = vars["CMDOP_API_BASE_URL"], vars["CMDOP_TOKEN"], vars["CMDOP_FLEET_ID"]
	api.control = vars["CMDOP_LOCAL_CONTROL_TOKEN"]
	if api.baseURL == "" || api.token == "" || api.fleetID == "" || api.control == "" {
		api.stop()
		return nil, fmt.Errorf("cmdop-local printed incomplete settings %v", keys(vars))
	}
	return api, nil
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// env is what the provider reads its settings from.
func (a *localAPI) env() []string {
	return []string{"CMDOP_API_BASE_URL=" + a.baseURL, "CMDOP_TOKEN=" + a.token, "CMDOP_FLEET_ID=" + a.fleetID}
}

// stop ends cmdop-local: SIGTERM, then SIGKILL after five seconds.
func (a *localAPI) stop() {
	if a == nil || a.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGTERM)
	// Its exit status does not matter: it is being stopped.
	select {
	case err := <-a.waitErr:
		_ = err
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
		err := <-a.waitErr
		_ = err
	}
	forget(a.cmd)
	a.http.CloseIdleConnections()
}

// stats is the part of GET /_local/stats the benchmark reports.
type stats struct {
	Total   int            `json:"total"`
	Writes  int            `json:"writes"`
	ByRoute map[string]int `json:"by_route"`
}

func (a *localAPI) do(ctx context.Context, method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.baseURL+path, rd)
	if err != nil {
		return err
	}
	token := a.token
	if strings.HasPrefix(path, "/_local/") {
		token = a.control
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (a *localAPI) resetStats(ctx context.Context) error {
	return a.do(ctx, http.MethodDelete, "/_local/stats", nil, nil)
}

func (a *localAPI) stats(ctx context.Context) (stats, error) {
	var s stats
	err := a.do(ctx, http.MethodGet, "/_local/stats", nil, &s)
	return s, err
}

func (a *localAPI) setLatency(ctx context.Context, d time.Duration) error {
	return a.do(ctx, http.MethodPost, "/_local/faults", map[string]string{"latency": d.String()}, nil)
}

// generateEvents makes n authenticated API calls (GET /api/audit/events?limit=1
// with the admin token), concurrently; each one logs a token.used event.
func (a *localAPI) generateEvents(ctx context.Context, n, workers int) error {
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := a.do(ctx, http.MethodGet, "/api/audit/events?limit=1", nil, nil); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

package main

import (
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
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal/localtest"
)

// localAPI is one running cmdop-local.
type localAPI struct {
	proc    *localtest.Process
	cmd     *exec.Cmd
	baseURL string
	token   string // admin token
	fleetID string
	control string // the control token of /_local/
	http    *http.Client
}

// startLocal starts cmdop-local on a free loopback port with the given
// latency, its per-request log going to logPath, and reads the export lines
// it prints (localtest.Launch).
func startLocal(ctx context.Context, bin string, latency time.Duration, logPath string) (*localAPI, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "--addr", "127.0.0.1:0", "--latency", latency.String())
	cmd.Stderr = logFile
	proc, err := localtest.Launch(cmd, startGroup, 30*time.Second)
	if err != nil {
		logFile.Close()
		return nil, fmt.Errorf("%w (see %s)", err, logPath)
	}
	go func() { <-proc.Done(); logFile.Close() }()
	if proc.AdminToken == "" {
		proc.Kill()
		return nil, fmt.Errorf("cmdop-local printed no admin token (see %s)", logPath)
	}
	return &localAPI{
		proc: proc, cmd: cmd,
		baseURL: proc.URL, token: proc.AdminToken, fleetID: proc.FleetID, control: proc.ControlToken,
		http: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 64, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second,
		}},
	}, nil
}

// env is what the provider reads its settings from.
func (a *localAPI) env() []string {
	return []string{"CMDOP_API_BASE_URL=" + a.baseURL, "CMDOP_TOKEN=" + a.token, "CMDOP_FLEET_ID=" + a.fleetID}
}

// stop ends cmdop-local: SIGINT, then SIGKILL after five seconds.
func (a *localAPI) stop() {
	if a == nil {
		return
	}
	_ = a.proc.Stop() // its exit status does not matter: it is being stopped
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

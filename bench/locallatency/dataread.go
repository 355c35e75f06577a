package main

// The audit data source's read of N events, against the code before and
// after the store changed, built side by side.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// variant is one build of the provider and cmdop-local.
type variant struct {
	name     string
	dir      string // holds terraform-provider-cmdop and cmdop-local
	rc       string // CLI configuration with dev_overrides
	state    bool   // run cmdop-local with --state
	walls    []time.Duration
	apiReads []time.Duration // the same read straight from the API
	lastRead int
}

func build(src, out string) error {
	for _, c := range [][]string{
		{"go", "build", "-o", filepath.Join(out, "terraform-provider-cmdop"), "."},
		{"go", "build", "-o", filepath.Join(out, "cmdop-local"), "./cmd/cmdop-local"},
	} {
		cmd := exec.Command(c[0], c[1:]...)
		cmd.Dir = src
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s in %s: %v\n%s", strings.Join(c, " "), src, err, b)
		}
	}
	return nil
}

func dataSourceRead(work, tfBin, beforeRef string, n, repeat int) error {
	tfBin, err := filepath.Abs(tfBin)
	if err != nil {
		return err
	}
	here, err := os.Getwd()
	if err != nil {
		return err
	}
	beforeSrc := filepath.Join(work, "before-src")
	if err := os.MkdirAll(beforeSrc, 0o755); err != nil {
		return err
	}
	archive := exec.Command("sh", "-c", "git archive "+beforeRef+" | tar -x -C "+beforeSrc)
	if b, err := archive.CombinedOutput(); err != nil {
		return fmt.Errorf("git archive %s: %v\n%s", beforeRef, err, b)
	}
	rev, _ := exec.Command("git", "rev-parse", "--short", beforeRef).Output()
	head, _ := exec.Command("git", "describe", "--always", "--dirty").Output()
	vs := []*variant{
		{name: "before (" + beforeRef + " " + strings.TrimSpace(string(rev)) + ")", dir: filepath.Join(work, "before")},
		{name: "after (" + strings.TrimSpace(string(head)) + ")", dir: filepath.Join(work, "after")},
		{name: "after, --state", dir: filepath.Join(work, "after"), state: true},
	}
	if err := build(beforeSrc, vs[0].dir); err != nil {
		return err
	}
	if err := build(here, vs[1].dir); err != nil {
		return err
	}
	for _, v := range vs {
		v.rc = filepath.Join(v.dir, "terraformrc")
		rc := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"registry.terraform.io/cmdop/cmdop\" = %q\n  }\n  direct {}\n}\n", v.dir)
		if err := os.WriteFile(v.rc, []byte(rc), 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("== cmdop_audit_events reading %d token.used events: terraform apply wall time (%s)\n\n", n, filepath.Base(tfBin))
	for i := range repeat {
		order := vs
		if i%2 == 1 {
			order = []*variant{vs[1], vs[0], vs[2]}
		}
		for _, v := range order {
			wall, api, read, err := readOnce(work, tfBin, v, n)
			if err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
			v.walls = append(v.walls, wall)
			v.apiReads = append(v.apiReads, api...)
			v.lastRead = read
			fmt.Fprintf(os.Stderr, "%s: %s (%d events)\n", v.name, wall.Round(time.Millisecond), read)
		}
	}
	fmt.Println("| variant | events read | terraform apply, median s | runs | the same 10 pages straight from the API, median ms |")
	fmt.Println("|---|---:|---:|---:|---:|")
	for _, v := range vs {
		s := summarize(v.walls)
		fmt.Printf("| %s | %d | %.2f | %d | %s |\n", v.name, v.lastRead, s.median.Seconds(), len(v.walls), ms(summarize(v.apiReads).median))
	}
	fmt.Println()
	return nil
}

// readOnce starts a fresh cmdop-local of v, generates n events, times the
// pages of 1000 that the data source reads, straight from the API (five
// times), and one terraform apply reading them all.
func readOnce(work, tfBin string, v *variant, n int) (time.Duration, []time.Duration, int, error) {
	dir, err := os.MkdirTemp(work, "run-")
	if err != nil {
		return 0, nil, 0, err
	}
	args := []string{"--addr", "127.0.0.1:0"}
	if v.state {
		args = append(args, "--state", filepath.Join(dir, "state.db"))
	}
	cmd := exec.Command(filepath.Join(v.dir, "cmdop-local"), args...)
	logf, err := os.Create(filepath.Join(dir, "cmdop-local.log"))
	if err != nil {
		return 0, nil, 0, err
	}
	defer logf.Close()
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, nil, 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, nil, 0, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	vars := map[string]string{}
	sc := bufio.NewScanner(stdout)
	for vars["CMDOP_FLEET_ID"] == "" && sc.Scan() { // the three lines both versions print
		if k, val, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "="); ok {
			vars[k] = strings.Trim(val, "'")
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if vars["CMDOP_API_BASE_URL"] == "" || vars["CMDOP_TOKEN"] == "" {
		return 0, nil, 0, fmt.Errorf("cmdop-local printed %v", vars)
	}
	c := newClient(vars["CMDOP_API_BASE_URL"], vars["CMDOP_TOKEN"])
	if err := c.fill(n); err != nil {
		return 0, nil, 0, err
	}
	var apiReads []time.Duration
	for range 5 {
		start := time.Now()
		got, cursor := 0, ""
		for {
			var page struct {
				Items      []json.RawMessage `json:"items"`
				NextCursor string            `json:"next_cursor"`
			}
			if _, err := c.do(http.MethodGet, "/api/audit/events?limit=1000&action=token.used&cursor="+cursor, nil, &page); err != nil {
				return 0, nil, 0, err
			}
			got += len(page.Items)
			if page.NextCursor == "" || got >= n {
				break
			}
			cursor = page.NextCursor
		}
		apiReads = append(apiReads, time.Since(start))
	}
	cfg := fmt.Sprintf(`terraform {
  required_providers {
    cmdop = { source = "cmdop/cmdop" }
  }
}

data "cmdop_audit_events" "all" {
  actions     = ["token.used"]
  max_results = %d
}

output "n" {
  value = length(data.cmdop_audit_events.all.events)
}
`, n)
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(cfg), 0o644); err != nil {
		return 0, nil, 0, err
	}
	env := append(os.Environ(), "TF_CLI_CONFIG_FILE="+v.rc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1",
		"CMDOP_API_BASE_URL="+vars["CMDOP_API_BASE_URL"], "CMDOP_TOKEN="+vars["CMDOP_TOKEN"], "CMDOP_FLEET_ID="+vars["CMDOP_FLEET_ID"])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	apply := exec.CommandContext(ctx, tfBin, "apply", "-auto-approve", "-input=false", "-no-color")
	apply.Dir, apply.Env = dir, env
	start := time.Now()
	if out, err := apply.CombinedOutput(); err != nil {
		return 0, nil, 0, fmt.Errorf("terraform apply: %v\n%s", err, out)
	}
	wall := time.Since(start)
	out := exec.Command(tfBin, "output", "-raw", "n")
	out.Dir, out.Env = dir, env
	b, err := out.Output()
	if err != nil {
		return 0, nil, 0, fmt.Errorf("terraform output: %v", err)
	}
	read, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if read != n {
		return 0, nil, 0, fmt.Errorf("the data source read %d events, want %d", read, n)
	}
	return wall, apiReads, read, nil
}

package main

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal/localtest"
)

// TestSecondProcessOnOneStateRefused: while one cmdop-local serves a state
// database, a second one on the same --state file exits 1 at once, before
// printing any setting, with an error that names the file and the process
// holding it. The first keeps serving, and once it has stopped the file
// opens again.
func TestSecondProcessOnOneStateRefused(t *testing.T) {
	t.Parallel()
	bin := localtest.BuildBinary(t)
	state := filepath.Join(t.TempDir(), "state.db")
	env := []string{"CMDOP_LOCAL_ADMIN_TOKEN=" + durabilityAdminToken}
	var stderr1 localtest.Tail
	first := localtest.StartBinary(t, bin, env, &stderr1, "--addr", "127.0.0.1:0", "--state", state)
	mustStatus(t, first, 200)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	second := exec.CommandContext(ctx, bin, "--addr", "127.0.0.1:0", "--state", state)
	second.Env = append(second.Environ(), env...)
	var stdout, stderr strings.Builder
	second.Stdout, second.Stderr = &stdout, &stderr
	err := second.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("the second cmdop-local: %v, want exit status 1; stderr:\n%s", err, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("the second cmdop-local printed settings:\n%s", stdout.String())
	}
	msg := stderr.String()
	for _, want := range []string{state, "pid " + strconv.Itoa(first.Pid()), bin, "in use", "another --state"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the refusal does not say %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, durabilityAdminToken) {
		t.Error("the refusal shows the admin token")
	}

	// The first one was not disturbed, and its state is its own.
	mustStatus(t, first, 200)
	if err := first.Stop(); err != nil {
		t.Fatalf("stopping the first cmdop-local: %v\n%s", err, stderr1.String())
	}
	third := localtest.StartBinary(t, bin, env, nil, "--addr", "127.0.0.1:0", "--state", state)
	if third.FleetID != first.FleetID {
		t.Errorf("the state reopened with fleet %s, want %s", third.FleetID, first.FleetID)
	}
	mustStatus(t, third, 200)
}

func mustStatus(t *testing.T, p *localtest.Process, want int) {
	t.Helper()
	if got := get(t, p.URL+"/api/account", p.AdminToken); got != want {
		t.Fatalf("GET /api/account: %d, want %d", got, want)
	}
}

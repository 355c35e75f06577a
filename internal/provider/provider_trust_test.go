package provider_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// The CMDOP CLI's OAuth login is sent only to its own mode's API: with
// CMDOP_TOKEN unset and a base URL that names a listener on 127.0.0.1,
// token_prod.json is skipped with a warning saying what to set, and the
// listener receives nothing. The API key that the CLI keeps in
// ssh_workspaces.json works with that URL.
func TestAccProvider_cliLoginOnlyForItsOwnAPI(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	run := newCLIRun(t, api, map[string]string{"main.tf": `
resource "cmdop_fleet_token" "x" {
  name   = "x"
  scopes = ["machines:read"]
}`})
	dir := t.TempDir()
	login := fmt.Sprintf(`{"access_token": %q, "refresh_token": "r", "expires_at": "2999-01-01T00:00:00Z", "token_type": "Bearer"}`, api.secret)
	if err := os.WriteFile(filepath.Join(dir, "token_prod.json"), []byte(login), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"CMDOP_TOKEN=", "CMDOP_API_KEY=", "CMDOP_CONFIG_DIR=" + dir, "CMDOP_MODE="}
	out, err := run.runEnv(env, "plan", "-no-color")
	if err == nil {
		t.Fatalf("the plan used the CLI's production login against %s:\n%s", api.URL, out)
	}
	expectContains(t, out, "Skipped a CMDOP credential", "token_prod.json is for the prod API (https://api.cmdop.com)",
		"never sent there", "Set CMDOP_TOKEN", "Missing CMDOP API token")
	if strings.Contains(out, api.secret) {
		t.Fatal("the output holds the login's secret")
	}
	if n := api.srv.Stats().Total; n != 0 {
		t.Fatalf("the listener received %d requests, want 0", n)
	}

	// The workspace's API key is a token the user chose for scripts: it
	// works with any base URL.
	ws := fmt.Sprintf(`{"active": "local", "workspaces": [{"name": "local", "api_key": %q}]}`, api.secret)
	if err := os.WriteFile(filepath.Join(dir, "ssh_workspaces.json"), []byte(ws), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = run.runEnv(env, "plan", "-no-color")
	if err != nil {
		t.Fatalf("plan with the workspace's API key: %v\n%s", err, out)
	}
	expectContains(t, out, "1 to add")
	expectNotContains(t, out, "Skipped a CMDOP credential")
}

// A secret pasted into the base URL, percent-encoded or without its cmdop_
// prefix, is never printed: not in the output, not in the TRACE log.
func TestAccNeverLose_secretInBaseURLNeverPrinted(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	body := strings.TrimPrefix(api.secret, "cmdop_")
	for name, base := range map[string]string{
		"percent-encoded":   api.URL + "/cmdop%5F" + body,
		"without prefix":    api.URL + "/" + body,
		"in the path, bare": api.URL + "/" + body + "/api",
	} {
		t.Run(name, func(t *testing.T) {
			run := newCLIRun(t, api, map[string]string{"main.tf": `
resource "cmdop_fleet_token" "x" {
  name   = "x"
  scopes = ["machines:read"]
}`})
			run.withTraceLog()
			out, err := run.runEnv([]string{"CMDOP_API_BASE_URL=" + base}, "plan", "-no-color")
			if err == nil {
				t.Fatalf("the plan passed:\n%s", out)
			}
			log, _ := os.ReadFile(run.log)
			for what, text := range map[string]string{"output": out, "TRACE log": string(log)} {
				if strings.Contains(text, body) {
					t.Errorf("the %s holds the secret pasted into the base URL:\n%s", what, cmdopapi.Redact(strings.ReplaceAll(text, body, "<SECRET>")))
				}
			}
			expectContains(t, out, api.URL)
		})
	}
	_ = cmdopapi.SafeURL
}

package credentials

import (
	"context"
	"strings"
	"testing"
)

// The CLI's OAuth login goes only to its own mode's API; the workspace's
// API key and explicit tokens work with any base URL.
func TestResolveLoginOnlyForItsModesAPI(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, mode, baseURL string
		workspace           bool
		want                string
		warn                string
	}{
		{"prod login, default URL", "prod", "", false, tokProd, ""},
		{"prod login, prod URL", "prod", "https://api.cmdop.com/", false, tokProd, ""},
		{"prod login, prod URL with port", "prod", "https://API.cmdop.com:443", false, tokProd, ""},
		{"prod login, loopback listener", "prod", "http://127.0.0.1:8790", false, "", "is for the prod API"},
		{"prod login, dev URL", "prod", "https://api-dev.cmdop.com", false, "", "is for the prod API"},
		{"prod login, prod host with a path", "prod", "https://api.cmdop.com/other", false, "", "is for the prod API"},
		{"dev login, dev URL", "dev", "https://api-dev.cmdop.com", false, tokDev, ""},
		{"dev login, prod URL", "dev", "https://api.cmdop.com", false, "", "is for the dev API"},
		{"workspace key, any URL", "prod", "http://127.0.0.1:8790", true, tokWorkspace, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFile(t, dir, "token_prod.json", tokenJSON(tokProd, future), 0o600)
			writeFile(t, dir, "token_dev.json", tokenJSON(tokDev, future), 0o600)
			if tc.workspace {
				writeFile(t, dir, "ssh_workspaces.json", workspacesJSON("alpha", map[string]string{"alpha": tokWorkspace}), 0o600)
			}
			res, err := Resolve(context.Background(), Input{Mode: tc.mode, ConfigDir: dir, BaseURL: tc.baseURL, Getenv: env(nil), Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			assertNoSecretsIn(t, res, err)
			if res.Token != tc.want {
				t.Errorf("token from %q, want the one expected (%v)", res.Source, tc.want != "")
			}
			joined := strings.Join(res.Warnings, "\n")
			if tc.warn == "" && joined != "" {
				t.Errorf("unexpected warnings: %s", joined)
			}
			if tc.warn != "" && (!strings.Contains(joined, tc.warn) || !strings.Contains(joined, "Set CMDOP_TOKEN")) {
				t.Errorf("warnings %q, want %q and the fix", joined, tc.warn)
			}
		})
	}
	// Explicit tokens keep working with any URL.
	for _, getenv := range []map[string]string{{EnvToken: tokEnv}, {EnvAPIKey: tokAPIKey}} {
		res, err := Resolve(context.Background(), Input{BaseURL: "http://127.0.0.1:1", Getenv: env(getenv), ConfigDir: t.TempDir(), Now: fixedNow})
		if err != nil || res.Token == "" {
			t.Errorf("explicit token with another URL: %q, %v", res.Source, err)
		}
	}
}

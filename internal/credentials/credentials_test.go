package credentials

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflogtest"
)

// Fake tokens, shaped like real CMDOP tokens ("cmdop_" + base62).
const (
	tokAttr      = "cmdop_AttrAttrAttr0123456789abcdefghijKLMNOP"
	tokEnv       = "cmdop_EnvEnvEnvEnv0123456789abcdefghijKLMNOP"
	tokAPIKey    = "cmdop_ApiKeyApiKey0123456789abcdefghijKLMNOP"
	tokWorkspace = "cmdop_WorkspaceWs0123456789abcdefghijKLMNOPQ"
	tokOtherWs   = "cmdop_OtherWsOther0123456789abcdefghijKLMNOP"
	tokProd      = "cmdop_OauthProdPrd0123456789abcdefghijKLMNOP"
	tokDev       = "cmdop_OauthDevDevD0123456789abcdefghijKLMNOP"
)

var allTokens = []string{tokAttr, tokEnv, tokAPIKey, tokWorkspace, tokOtherWs, tokProd, tokDev}

// now is the fixed current time of the tests.
var now = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return now }

// env returns a Getenv backed by m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// writeFile writes a credentials file with the given permissions (set with
// os.Chmod, so the umask does not interfere) and returns its path.
func writeFile(t *testing.T, dir, name, content string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
	return path
}

func workspacesJSON(active string, keys map[string]string) string {
	var b strings.Builder
	b.WriteString(`{"active": "` + active + `", "workspaces": [`)
	first := true
	for _, name := range []string{"alpha", "beta", "gamma"} {
		key, ok := keys[name]
		if !ok {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(`{"name": "` + name + `", "api_key": "` + key + `", "remote_id": "r-` + name +
			`", "remote_name": "Remote ` + name + `", "last_synced_at": "2030-05-01T00:00:00Z"}`)
	}
	b.WriteString("]}")
	return b.String()
}

func tokenJSON(access, expiresAt string) string {
	return `{"access_token": "` + access + `", "refresh_token": "cmdop_RefreshRefresh0123456789abcdefghijKLMN", "expires_at": "` +
		expiresAt + `", "token_type": "Bearer"}`
}

const future = "2031-01-01T00:00:00Z"

// assertNoSecrets fails if s contains any fake token value.
func assertNoSecrets(t *testing.T, what, s string, extra ...string) {
	t.Helper()
	for _, tok := range append(allTokens, extra...) {
		if strings.Contains(s, tok) {
			t.Errorf("%s contains secret value %q: %s", what, tok, s)
		}
	}
}

func assertNoSecretsIn(t *testing.T, res Result, err error, extra ...string) {
	t.Helper()
	if err != nil {
		assertNoSecrets(t, "error", err.Error(), extra...)
	}
	for _, w := range res.Warnings {
		assertNoSecrets(t, "warning", w, extra...)
	}
}

func TestResolveEachSource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		in         Input
		env        map[string]string
		files      map[string]string
		wantToken  string
		wantSource string // "%d" stands for the config dir
	}{
		{
			name:       "token attribute",
			in:         Input{Token: tokAttr},
			wantToken:  tokAttr,
			wantSource: "provider configuration",
		},
		{
			name:       "CMDOP_TOKEN",
			env:        map[string]string{EnvToken: tokEnv},
			wantToken:  tokEnv,
			wantSource: "environment variable CMDOP_TOKEN",
		},
		{
			name:       "CMDOP_API_KEY",
			env:        map[string]string{EnvAPIKey: tokAPIKey},
			wantToken:  tokAPIKey,
			wantSource: "environment variable CMDOP_API_KEY",
		},
		{
			name:       "surrounding whitespace in env is ignored",
			env:        map[string]string{EnvToken: " " + tokEnv + "\n"},
			wantToken:  tokEnv,
			wantSource: sourceEnvToken,
		},
		{
			name:       "workspaces file",
			files:      map[string]string{workspacesFileName: workspacesJSON("beta", map[string]string{"alpha": tokOtherWs, "beta": tokWorkspace})},
			wantToken:  tokWorkspace,
			wantSource: `%d/ssh_workspaces.json (workspace "beta")`,
		},
		{
			name:       "token file",
			files:      map[string]string{"token_prod.json": tokenJSON(tokProd, future)},
			wantToken:  tokProd,
			wantSource: "%d/token_prod.json",
		},
		{
			name:       "token file without expires_at",
			files:      map[string]string{"token_prod.json": `{"access_token": "` + tokProd + `"}`},
			wantToken:  tokProd,
			wantSource: "%d/token_prod.json",
		},
		{
			name: "nothing anywhere",
		},
		{
			name:  "whitespace-only values count as unset",
			in:    Input{Token: "  "},
			env:   map[string]string{EnvToken: " ", EnvAPIKey: "\t"},
			files: map[string]string{"token_prod.json": tokenJSON(tokProd, future)},

			wantToken:  tokProd,
			wantSource: "%d/token_prod.json",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, content := range tt.files {
				writeFile(t, dir, name, content, 0o600)
			}
			in := tt.in
			in.ConfigDir = dir
			in.Getenv = env(tt.env)
			in.Now = fixedNow
			res, err := Resolve(context.Background(), in)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if res.Token != tt.wantToken {
				t.Errorf("Token = %q, want %q", res.Token, tt.wantToken)
			}
			if want := strings.ReplaceAll(tt.wantSource, "%d", dir); res.Source != want {
				t.Errorf("Source = %q, want %q", res.Source, want)
			}
			if res.Mode != ModeProd || res.ConfigDir != dir {
				t.Errorf("Mode, ConfigDir = %q, %q; want %q, %q", res.Mode, res.ConfigDir, ModeProd, dir)
			}
			if len(res.Warnings) != 0 {
				t.Errorf("Warnings = %q, want none", res.Warnings)
			}
		})
	}
}

func TestResolvePrecedence(t *testing.T) {
	t.Parallel()
	// Every source is present; each case removes the sources above the one
	// that must win.
	tests := []struct {
		name       string
		noAttr     bool
		noEnvToken bool
		noAPIKey   bool
		noWs       bool
		wantToken  string
		wantSource string
	}{
		{name: "attribute beats all", wantToken: tokAttr, wantSource: sourceAttribute},
		{name: "CMDOP_TOKEN beats CMDOP_API_KEY and files", noAttr: true, wantToken: tokEnv, wantSource: sourceEnvToken},
		{name: "CMDOP_API_KEY beats files", noAttr: true, noEnvToken: true, wantToken: tokAPIKey, wantSource: sourceEnvAPIKey},
		{name: "workspaces file beats token file", noAttr: true, noEnvToken: true, noAPIKey: true,
			wantToken: tokWorkspace, wantSource: `%d/ssh_workspaces.json (workspace "alpha")`},
		{name: "token file last", noAttr: true, noEnvToken: true, noAPIKey: true, noWs: true,
			wantToken: tokProd, wantSource: "%d/token_prod.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if !tt.noWs {
				writeFile(t, dir, workspacesFileName, workspacesJSON("alpha", map[string]string{"alpha": tokWorkspace}), 0o600)
			}
			writeFile(t, dir, "token_prod.json", tokenJSON(tokProd, future), 0o600)
			e := map[string]string{EnvToken: tokEnv, EnvAPIKey: tokAPIKey}
			if tt.noEnvToken {
				delete(e, EnvToken)
			}
			if tt.noAPIKey {
				delete(e, EnvAPIKey)
			}
			in := Input{Token: tokAttr, ConfigDir: dir, Getenv: env(e), Now: fixedNow}
			if tt.noAttr {
				in.Token = ""
			}
			res, err := Resolve(context.Background(), in)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if res.Token != tt.wantToken {
				t.Errorf("Token = %q, want %q", res.Token, tt.wantToken)
			}
			if want := strings.ReplaceAll(tt.wantSource, "%d", dir); res.Source != want {
				t.Errorf("Source = %q, want %q", res.Source, want)
			}
		})
	}
}

// TestResolveFilesNotReadWhenEarlierSourceSupplies proves that the files are
// not even opened once an earlier source supplied a token: both files are
// ones that would be refused (malformed, world-readable), yet there is no
// error.
func TestResolveFilesNotReadWhenEarlierSourceSupplies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   Input
		env  map[string]string
		want string
	}{
		{name: "attribute", in: Input{Token: tokAttr}, want: tokAttr},
		{name: "CMDOP_TOKEN", env: map[string]string{EnvToken: tokEnv}, want: tokEnv},
		{name: "CMDOP_API_KEY", env: map[string]string{EnvAPIKey: tokAPIKey}, want: tokAPIKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, layout := range []string{"bad files", "config dir is a file"} {
				dir := t.TempDir()
				configDir := dir
				if layout == "bad files" {
					writeFile(t, dir, workspacesFileName, `{"active": "alpha", "workspaces": [`, 0o600)
					writeFile(t, dir, "token_prod.json", tokenJSON(tokProd, future), 0o644)
				} else {
					configDir = writeFile(t, dir, "not-a-dir", "", 0o600)
				}
				in := tt.in
				in.ConfigDir = configDir
				in.Getenv = env(tt.env)
				in.Now = fixedNow
				res, err := Resolve(context.Background(), in)
				if err != nil {
					t.Fatalf("%s: Resolve: %v (files must not be read when %s supplies a token)", layout, err, tt.name)
				}
				if res.Token != tt.want {
					t.Errorf("%s: Token = %q, want %q", layout, res.Token, tt.want)
				}
			}
		})
	}

	// And a valid workspaces file means the token file is not read.
	t.Run("workspaces file", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFile(t, dir, workspacesFileName, workspacesJSON("alpha", map[string]string{"alpha": tokWorkspace}), 0o600)
		writeFile(t, dir, "token_prod.json", `{"access_token": `+tokProd, 0o644)
		res, err := Resolve(context.Background(), Input{ConfigDir: dir, Getenv: env(nil), Now: fixedNow})
		if err != nil {
			t.Fatalf("Resolve: %v", err)
		}
		if res.Token != tokWorkspace {
			t.Errorf("Token = %q, want %q", res.Token, tokWorkspace)
		}
	})
}

func TestResolveModes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "token_prod.json", tokenJSON(tokProd, future), 0o600)
	writeFile(t, dir, "token_dev.json", tokenJSON(tokDev, future), 0o600)

	tests := []struct {
		name     string
		inMode   string
		envMode  string
		wantMode string
		wantTok  string
		wantURL  string
	}{
		{name: "default is prod", wantMode: ModeProd, wantTok: tokProd, wantURL: "https://api.cmdop.com"},
		{name: "prod from input", inMode: "prod", wantMode: ModeProd, wantTok: tokProd, wantURL: "https://api.cmdop.com"},
		{name: "dev from input", inMode: "dev", wantMode: ModeDev, wantTok: tokDev, wantURL: "https://api-dev.cmdop.com"},
		{name: "dev from env", envMode: "dev", wantMode: ModeDev, wantTok: tokDev, wantURL: "https://api-dev.cmdop.com"},
		{name: "input beats env", inMode: "prod", envMode: "dev", wantMode: ModeProd, wantTok: tokProd, wantURL: "https://api.cmdop.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := Resolve(context.Background(), Input{
				Mode: tt.inMode, ConfigDir: dir, Getenv: env(map[string]string{EnvMode: tt.envMode}), Now: fixedNow,
			})
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if res.Mode != tt.wantMode {
				t.Errorf("Mode = %q, want %q", res.Mode, tt.wantMode)
			}
			if res.Token != tt.wantTok {
				t.Errorf("Token = %q, want %q", res.Token, tt.wantTok)
			}
			if want := filepath.Join(dir, "token_"+tt.wantMode+".json"); res.Source != want {
				t.Errorf("Source = %q, want %q", res.Source, want)
			}
			if got := DefaultBaseURLs[res.Mode]; got != tt.wantURL {
				t.Errorf("DefaultBaseURLs[%q] = %q, want %q", res.Mode, got, tt.wantURL)
			}
		})
	}

	t.Run("dev does not fall back to token_prod.json", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFile(t, dir, "token_prod.json", tokenJSON(tokProd, future), 0o600)
		res, err := Resolve(context.Background(), Input{Mode: ModeDev, ConfigDir: dir, Getenv: env(nil), Now: fixedNow})
		if err != nil {
			t.Fatalf("Resolve: %v", err)
		}
		if res.Token != "" || res.Source != "" {
			t.Errorf("Token, Source = %q, %q; want none", res.Token, res.Source)
		}
	})
}

func TestResolveInvalidMode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   Input
		env  map[string]string
		want string
	}{
		{name: "input", in: Input{Mode: "staging"}, want: `mode "staging" is not valid: use "prod" or "dev"`},
		{name: "env", env: map[string]string{EnvMode: "PROD"}, want: `mode "PROD" is not valid: use "prod" or "dev"`},
		{name: "even with a token attribute", in: Input{Mode: "x", Token: tokAttr}, want: `mode "x" is not valid: use "prod" or "dev"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := tt.in
			in.ConfigDir = t.TempDir()
			in.Getenv = env(tt.env)
			_, err := Resolve(context.Background(), in)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if !errors.Is(err, ErrInvalidMode) {
				t.Errorf("errors.Is(err, ErrInvalidMode) = false")
			}
		})
	}
}

func TestValidMode(t *testing.T) {
	t.Parallel()
	for m, want := range map[string]bool{"prod": true, "dev": true, "": false, "Prod": false, "staging": false} {
		if got := validMode(m); got != want {
			t.Errorf("ValidMode(%q) = %v, want %v", m, got, want)
		}
	}
}

func TestResolveRefusesFilesOthersCanAccess(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("permission bits are not checked on Windows")
	}
	files := map[string]string{
		workspacesFileName: workspacesJSON("alpha", map[string]string{"alpha": tokWorkspace}),
		"token_prod.json":  tokenJSON(tokProd, future),
	}
	for name, content := range files {
		for _, perm := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o620, 0o602, 0o666} {
			t.Run(name+"/"+perm.String(), func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				path := writeFile(t, dir, name, content, perm)
				res, err := Resolve(context.Background(), Input{ConfigDir: dir, Getenv: env(nil), Now: fixedNow})
				if err == nil {
					t.Fatalf("Resolve returned token from %q, want an error for mode %v", res.Source, perm)
				}
				msg := err.Error()
				if want := fmt.Sprintf("(mode %04o)", uint32(perm)); !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
				if !strings.Contains(msg, path) || !strings.Contains(msg, "chmod 600 "+path) || !strings.Contains(msg, "by other users") {
					t.Errorf("error %q should name %s, say other users can access it, and give the chmod 600 fix", msg, path)
				}
				if perm&0o044 != 0 && !strings.Contains(msg, "can be read by other users") {
					t.Errorf("error %q should say the file can be read", msg)
				}
				if !errors.Is(err, ErrInsecureFile) {
					t.Errorf("errors.Is(err, ErrInsecureFile) = false")
				}
				assertNoSecretsIn(t, res, err)
			})
		}
	}

	t.Run("exact message", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		path := writeFile(t, dir, workspacesFileName, files[workspacesFileName], 0o644)
		_, err := Resolve(context.Background(), Input{ConfigDir: dir, Getenv: env(nil)})
		want := "credentials file " + path + " can be read by other users (mode 0644); the provider refuses to use it. Run: chmod 600 " + path
		if err == nil || err.Error() != want {
			t.Errorf("err = %v\nwant %s", err, want)
		}
	})

	for _, perm := range []os.FileMode{0o600, 0o400} {
		t.Run("accepts "+perm.String(), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFile(t, dir, "token_prod.json", files["token_prod.json"], perm)
			res, err := Resolve(context.Background(), Input{ConfigDir: dir, Getenv: env(nil), Now: fixedNow})
			if err != nil || res.Token != tokProd {
				t.Errorf("Resolve = %q, %v; want the token", res.Token, err)
			}
		})
	}
}

func TestResolveMalformedFiles(t *testing.T) {
	t.Parallel()
	// secret is a token-shaped value placed in each malformed file; no
	// error may contain it, nor any part of the file.
	const secret = "cmdop_Zq8Xw3Vb7Nm2Lk5Jh4Gf6Dd9Ss1Aa0PpOoIiUu"
	tests := []struct {
		name      string
		file      string
		content   string
		wantParts []string
		notParts  []string // in addition to the secret
	}{
		{
			name:      "workspaces: truncated JSON",
			file:      workspacesFileName,
			content:   `{"active": "alpha", "workspaces": [{"name": "alpha", "api_key": "` + secret + `"`,
			wantParts: []string{"not valid JSON (at byte offset "},
		},
		{
			name:      "workspaces: bad character inside",
			file:      workspacesFileName,
			content:   `{"active": "alpha", "workspaces": [{"name": "alpha", "api_key": ` + secret + `}]}`,
			wantParts: []string{"not valid JSON (at byte offset 65)"},
			notParts:  []string{"'c'", "invalid character"},
		},
		{
			name:      "workspaces: empty file",
			file:      workspacesFileName,
			content:   ``,
			wantParts: []string{"not valid JSON"},
		},
		{
			name:      "token: trailing garbage",
			file:      "token_prod.json",
			content:   `{"access_token": "` + secret + `"} ` + secret,
			wantParts: []string{"not valid JSON (at byte offset "},
		},
		{
			name:      "workspaces: api_key is a number",
			file:      workspacesFileName,
			content:   `{"active": "alpha", "workspaces": [{"name": "alpha", "api_key": 1234567890123456789, "x": "` + secret + `"}]}`,
			wantParts: []string{`field "workspaces.api_key" has the wrong type (want a string)`},
			notParts:  []string{"1234567890123456789"},
		},
		{
			name:      "workspaces: active is a bool",
			file:      workspacesFileName,
			content:   `{"active": true, "workspaces": [{"name": "alpha", "api_key": "` + secret + `"}]}`,
			wantParts: []string{`field "active" has the wrong type (want a string)`},
		},
		{
			name:      "workspaces: workspaces is an object",
			file:      workspacesFileName,
			content:   `{"active": "alpha", "workspaces": {"alpha": {"api_key": "` + secret + `"}}}`,
			wantParts: []string{`field "workspaces" has the wrong type (want an array)`},
		},
		{
			name:      "workspaces: top level is an array",
			file:      workspacesFileName,
			content:   `["` + secret + `"]`,
			wantParts: []string{"the top-level value is not a JSON object"},
		},
		{
			name:      "token: access_token is an object",
			file:      "token_prod.json",
			content:   `{"access_token": {"value": "` + secret + `"}, "expires_at": "` + future + `"}`,
			wantParts: []string{`field "access_token" has the wrong type (want a string)`},
		},
		{
			name:      "token: expires_at is a number",
			file:      "token_prod.json",
			content:   `{"access_token": "` + secret + `", "expires_at": 1893456000}`,
			wantParts: []string{`field "expires_at" has the wrong type (want a string)`},
			notParts:  []string{"1893456000"},
		},
		{
			name:      "token: expires_at is not RFC3339",
			file:      "token_prod.json",
			content:   `{"access_token": "` + secret + `", "expires_at": "next tuesday"}`,
			wantParts: []string{`field "expires_at" is not an RFC3339 time`},
			notParts:  []string{"next tuesday"},
		},
		{
			name:      "token: expires_at without a zone",
			file:      "token_prod.json",
			content:   `{"access_token": "` + secret + `", "expires_at": "2031-01-01 00:00:00"}`,
			wantParts: []string{`field "expires_at" is not an RFC3339 time`},
			notParts:  []string{"2031-01-01"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := writeFile(t, dir, tt.file, tt.content, 0o600)
			res, err := Resolve(context.Background(), Input{ConfigDir: dir, Getenv: env(nil), Now: fixedNow})
			if err == nil {
				t.Fatalf("Resolve returned token from %q, want an error", res.Source)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, path+": ") {
				t.Errorf("error %q does not start by naming the file %s", msg, path)
			}
			for _, part := range tt.wantParts {
				if !strings.Contains(msg, part) {
					t.Errorf("error %q does not contain %q", msg, part)
				}
			}
			for _, part := range append(tt.notParts, secret, "cmdop_") {
				if strings.Contains(msg, part) {
					t.Errorf("error %q leaks file contents %q", msg, part)
				}
			}
			if !errors.Is(err, ErrMalformedFile) {
				t.Errorf("errors.Is(err, ErrMalformedFile) = false")
			}
			if res.Token != "" {
				t.Errorf("Token = %q on error", res.Token)
			}
		})
	}
}

func TestResolveWorkspaceSelection(t *testing.T) {
	t.Parallel()
	t.Run("active workspace missing", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		path := writeFile(t, dir, workspacesFileName,
			workspacesJSON("prod-eu", map[string]string{"alpha": tokWorkspace, "beta": tokOtherWs}), 0o600)
		// A valid token file must not hide the broken selection.
		writeFile(t, dir, "token_prod.json", tokenJSON(tokProd, future), 0o600)
		res, err := Resolve(context.Background(), Input{ConfigDir: dir, Getenv: env(nil), Now: fixedNow})
		if err == nil {
			t.Fatalf("Resolve returned token from %q, want an error", res.Source)
		}
		msg := err.Error()
		for _, want := range []string{path, `"prod-eu"`, `"alpha", "beta"`, "cmdop workspace use <name>", "CMDOP_TOKEN"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not contain %q", msg, want)
			}
		}
		if !errors.Is(err, ErrUnknownWorkspace) {
			t.Errorf("errors.Is(err, ErrUnknownWorkspace) = false")
		}
		assertNoSecretsIn(t, res, err)
	})

	t.Run("active workspace missing, no workspaces", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFile(t, dir, workspacesFileName, `{"active": "alpha", "workspaces": []}`, 0o600)
		_, err := Resolve(context.Background(), Input{ConfigDir: dir, Getenv: env(nil), Now: fixedNow})
		if err == nil || !strings.Contains(err.Error(), "available workspaces: none") {
			t.Errorf("err = %v, want one saying no workspaces are available", err)
		}
	})

	// Cases that skip the workspaces file and fall through to the token file.
	skips := map[string]string{
		"absent active":          `{"workspaces": [{"name": "alpha", "api_key": "` + tokWorkspace + `"}]}`,
		"empty active":           workspacesJSON("", map[string]string{"alpha": tokWorkspace}),
		"null active":            `{"active": null, "workspaces": [{"name": "alpha", "api_key": "` + tokWorkspace + `"}]}`,
		"active has no api_key":  `{"active": "alpha", "workspaces": [{"name": "alpha"}, {"name": "beta", "api_key": "` + tokOtherWs + `"}]}`,
		"active has empty key":   workspacesJSON("alpha", map[string]string{"alpha": "", "beta": tokOtherWs}),
		"empty object":           `{}`,
		"null":                   `null`,
		"workspaces null":        `{"active": "", "workspaces": null}`,
		"unknown fields ignored": `{"version": 3, "active": "", "workspaces": []}`,
	}
	for name, content := range skips {
		t.Run("skip: "+name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFile(t, dir, workspacesFileName, content, 0o600)
			writeFile(t, dir, "token_prod.json", tokenJSON(tokProd, future), 0o600)
			res, err := Resolve(context.Background(), Input{ConfigDir: dir, Getenv: env(nil), Now: fixedNow})
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if res.Token != tokProd {
				t.Errorf("Token = %q, want the token file's %q", res.Token, tokProd)
			}
		})
	}
}

func TestResolveOAuthExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		expiresAt   string
		workspace   bool // also write a workspaces file with an active workspace
		wantToken   string
		wantWarning bool
	}{
		{name: "expired", expiresAt: "2030-06-01T11:59:59Z", wantWarning: true},
		{name: "expires exactly now", expiresAt: "2030-06-01T12:00:00Z", wantWarning: true},
		{name: "expired, other zone", expiresAt: "2030-06-01T13:00:00+02:00", wantWarning: true},
		{name: "still valid", expiresAt: "2030-06-01T12:00:01Z", wantToken: tokProd},
		{name: "valid with fraction and zone", expiresAt: "2030-06-01T14:30:00.123456+02:00", wantToken: tokProd},
		{name: "expired login irrelevant when workspace supplies", expiresAt: "2020-01-01T00:00:00Z", workspace: true, wantToken: tokWorkspace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := writeFile(t, dir, "token_prod.json", tokenJSON(tokProd, tt.expiresAt), 0o600)
			if tt.workspace {
				writeFile(t, dir, workspacesFileName, workspacesJSON("alpha", map[string]string{"alpha": tokWorkspace}), 0o600)
			}
			res, err := Resolve(context.Background(), Input{ConfigDir: dir, Getenv: env(nil), Now: fixedNow})
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if res.Token != tt.wantToken {
				t.Errorf("Token = %q, want %q", res.Token, tt.wantToken)
			}
			if tt.wantToken == "" && res.Source != "" {
				t.Errorf("Source = %q, want none", res.Source)
			}
			if !tt.wantWarning {
				if len(res.Warnings) != 0 {
					t.Errorf("Warnings = %q, want none", res.Warnings)
				}
				return
			}
			if len(res.Warnings) != 1 {
				t.Fatalf("Warnings = %q, want one", res.Warnings)
			}
			w := res.Warnings[0]
			if !strings.Contains(w, "cmdop login") || !strings.Contains(w, path) || !strings.Contains(w, "expired") {
				t.Errorf("warning %q should name %s, say it expired, and tell the user to run cmdop login", w, path)
			}
			assertNoSecretsIn(t, res, nil, "cmdop_RefreshRefresh0123456789abcdefghijKLMN")
		})
	}

	t.Run("expired but empty access_token is skipped without a warning", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFile(t, dir, "token_prod.json", tokenJSON("", "2020-01-01T00:00:00Z"), 0o600)
		res, err := Resolve(context.Background(), Input{ConfigDir: dir, Getenv: env(nil), Now: fixedNow})
		if err != nil || res.Token != "" || len(res.Warnings) != 0 {
			t.Errorf("Resolve = %+v, %v; want no token, no warning, no error", res, err)
		}
	})

	t.Run("nil Now uses the real clock", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFile(t, dir, "token_prod.json", tokenJSON(tokProd, "2001-01-01T00:00:00Z"), 0o600)
		res, err := Resolve(context.Background(), Input{ConfigDir: dir, Getenv: env(nil)})
		if err != nil || res.Token != "" || len(res.Warnings) != 1 {
			t.Errorf("Resolve = %+v, %v; want the 2001 login skipped with a warning", res, err)
		}
	})
}

func TestResolveConfigDir(t *testing.T) {
	t.Parallel()
	t.Run("missing config dir is skipped", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "does", "not", "exist")
		res, err := Resolve(context.Background(), Input{ConfigDir: dir, Getenv: env(nil), Now: fixedNow})
		if err != nil {
			t.Fatalf("Resolve: %v", err)
		}
		if res.Token != "" || res.Source != "" || res.ConfigDir != dir || len(res.Warnings) != 0 {
			t.Errorf("Resolve = %+v, want no token from %s", res, dir)
		}
	})

	t.Run("config dir from env", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFile(t, dir, "token_prod.json", tokenJSON(tokProd, future), 0o600)
		res, err := Resolve(context.Background(), Input{Getenv: env(map[string]string{EnvConfigDir: dir}), Now: fixedNow})
		if err != nil || res.Token != tokProd || res.ConfigDir != dir {
			t.Errorf("Resolve = %+v, %v; want token from %s", res, err, dir)
		}
	})

	t.Run("input beats env", func(t *testing.T) {
		t.Parallel()
		dir, other := t.TempDir(), t.TempDir()
		writeFile(t, dir, "token_prod.json", tokenJSON(tokProd, future), 0o600)
		writeFile(t, other, "token_prod.json", tokenJSON(tokDev, future), 0o600)
		res, err := Resolve(context.Background(), Input{ConfigDir: dir, Getenv: env(map[string]string{EnvConfigDir: other}), Now: fixedNow})
		if err != nil || res.Token != tokProd || res.ConfigDir != dir {
			t.Errorf("Resolve = %+v, %v; want token from %s", res, err, dir)
		}
	})

	t.Run("config dir is a file", func(t *testing.T) {
		t.Parallel()
		path := writeFile(t, t.TempDir(), "cmdop", "", 0o600)
		_, err := Resolve(context.Background(), Input{ConfigDir: path, Getenv: env(nil), Now: fixedNow})
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a directory") {
			t.Errorf("err = %v, want one saying %s is not a directory", err, path)
		}
	})

	t.Run("credentials file too large", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		path := writeFile(t, dir, "token_prod.json", `{"access_token": "`+tokProd+`"}`+strings.Repeat(" ", maxFileSize), 0o600)
		_, err := Resolve(context.Background(), Input{ConfigDir: dir, Getenv: env(nil), Now: fixedNow})
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "too large") || !errors.Is(err, ErrUnreadable) {
			t.Errorf("err = %v, want one saying %s is too large", err, path)
		}
		assertNoSecretsIn(t, Result{}, err)
	})

	t.Run("credentials file not readable by its owner", func(t *testing.T) {
		t.Parallel()
		if runtime.GOOS == "windows" || os.Geteuid() == 0 {
			t.Skip("needs Unix permissions and a non-root user")
		}
		dir := t.TempDir()
		path := writeFile(t, dir, workspacesFileName, workspacesJSON("alpha", map[string]string{"alpha": tokWorkspace}), 0o200)
		_, err := Resolve(context.Background(), Input{ConfigDir: dir, Getenv: env(nil), Now: fixedNow})
		want := "cannot read credentials file " + path + ": permission denied"
		if err == nil || err.Error() != want || !errors.Is(err, ErrUnreadable) || !errors.Is(err, fs.ErrPermission) {
			t.Errorf("err = %v, want %q", err, want)
		}
	})

	t.Run("credentials file is a directory", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		path := filepath.Join(dir, workspacesFileName)
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		_, err := Resolve(context.Background(), Input{ConfigDir: dir, Getenv: env(nil), Now: fixedNow})
		if err == nil || !strings.Contains(err.Error(), path) || !errors.Is(err, ErrUnreadable) {
			t.Errorf("err = %v, want one naming %s", err, path)
		}
	})
}

// TestResolveDefaults covers nil Getenv (os.Getenv) and the default config
// dir under the home directory; it sets process environment variables, so
// it cannot run in parallel.
func TestResolveDefaults(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home) // os.UserHomeDir on Windows
	t.Setenv(EnvToken, "")
	t.Setenv(EnvAPIKey, "")
	t.Setenv(EnvMode, "")
	t.Setenv(EnvConfigDir, "")
	cfg := filepath.Join(home, ".cmdop")
	if err := os.Mkdir(cfg, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, cfg, "token_prod.json", tokenJSON(tokProd, future), 0o600)
	writeFile(t, cfg, "token_dev.json", tokenJSON(tokDev, future), 0o600)

	res, err := Resolve(context.Background(), Input{})
	if err != nil || res.Token != tokProd || res.ConfigDir != cfg || res.Mode != ModeProd {
		t.Errorf("Resolve(defaults) = %+v, %v; want prod token from %s", res, err, cfg)
	}

	res, err = Resolve(context.Background(), Input{ConfigDir: "~/.cmdop"})
	if err != nil || res.ConfigDir != cfg {
		t.Errorf("Resolve(~/.cmdop) = %+v, %v; want config dir %s", res, err, cfg)
	}

	t.Setenv(EnvMode, ModeDev)
	res, err = Resolve(context.Background(), Input{})
	if err != nil || res.Token != tokDev || res.Mode != ModeDev {
		t.Errorf("Resolve(CMDOP_MODE=dev) = %+v, %v; want dev token", res, err)
	}

	t.Setenv(EnvToken, tokEnv)
	res, err = Resolve(context.Background(), Input{})
	if err != nil || res.Token != tokEnv || res.Source != sourceEnvToken {
		t.Errorf("Resolve(CMDOP_TOKEN set) = %+v, %v; want env token", res, err)
	}
}

func TestResolveLogsSourceOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, workspacesFileName, workspacesJSON("alpha", map[string]string{"alpha": tokWorkspace}), 0o600)
	tests := []struct {
		name       string
		in         Input
		wantMsg    string
		wantSource string
	}{
		{name: "attribute", in: Input{Token: tokAttr}, wantMsg: "CMDOP credential resolved", wantSource: sourceAttribute},
		{name: "file", wantMsg: "CMDOP credential resolved", wantSource: filepath.Join(dir, workspacesFileName) + ` (workspace "alpha")`},
		{name: "none", in: Input{ConfigDir: filepath.Join(dir, "missing")}, wantMsg: "No CMDOP credential found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			ctx := tflogtest.RootLogger(context.Background(), &buf)
			in := tt.in
			if in.ConfigDir == "" {
				in.ConfigDir = dir
			}
			in.Getenv = env(nil)
			if _, err := Resolve(ctx, in); err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			assertNoSecrets(t, "log", buf.String())
			entries, err := tflogtest.MultilineJSONDecode(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				t.Fatalf("got %d log entries, want 1: %v", len(entries), entries)
			}
			e := entries[0]
			if e["@level"] != "debug" || e["@message"] != tt.wantMsg || e["mode"] != ModeProd {
				t.Errorf("log entry = %v, want debug %q with mode", e, tt.wantMsg)
			}
			if tt.wantSource != "" && e["source"] != tt.wantSource {
				t.Errorf("log source = %v, want %q", e["source"], tt.wantSource)
			}
		})
	}
}

// A relative config dir is made absolute.
func TestResolveConfigDir_relative(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resolveConfigDir("rel/dir", func(string) string { return "" }), filepath.Join(wd, "rel", "dir"); got != want {
		t.Errorf("resolveConfigDir(rel/dir) = %q, want %q", got, want)
	}
}

// A credentials file of exactly the size limit is read whole; one byte
// more is too large.
func TestReadCredentialsFile_sizeLimit(t *testing.T) {
	dir := t.TempDir()
	body := `{"a":"` + strings.Repeat("x", maxFileSize-len(`{"a":""}`)) + `"}`
	path := writeFile(t, dir, "exact.json", body, 0o600)
	data, err := readCredentialsFile(path)
	if err != nil || len(data) != maxFileSize || string(data) != body {
		t.Fatalf("a file of exactly %d bytes: %d bytes read, %v", maxFileSize, len(data), err)
	}
	path = writeFile(t, dir, "over.json", body+" ", 0o600)
	if _, err := readCredentialsFile(path); !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("a file of %d bytes: %v, want too large", maxFileSize+1, err)
	}
}

// A credentials error is its kind and, when it has one, its cause.
func TestCredError_unwrap(t *testing.T) {
	err := newError(ErrUnreadable, os.ErrNotExist, "x")
	if !errors.Is(err, ErrUnreadable) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%v is not both ErrUnreadable and its cause", err)
	}
	if err := newError(ErrInsecureFile, nil, "y"); !errors.Is(err, ErrInsecureFile) || errors.Is(err, ErrUnreadable) {
		t.Errorf("%v: want ErrInsecureFile only", err)
	}
}

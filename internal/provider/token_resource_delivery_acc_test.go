package provider_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
)

// The delivery tests use the test binary itself as the command sink: run
// with CMDOP_TEST_SINK set (through secret_delivery.env), TestMain hands it
// to runTestSink instead of the tests. It reads the secret from standard
// input, checks its own /proc/self/cmdline and environment for it, and
// appends what it saw to the file that CMDOP_TEST_SINK names. With
// CMDOP_TEST_SINK_EXIT it then prints 25 lines, the last one holding the
// secret, and exits with that status.
const (
	sinkEnv     = "CMDOP_TEST_SINK"
	sinkExitEnv = "CMDOP_TEST_SINK_EXIT"
	// CMDOP_TEST_SINK_HANDSHAKE names a directory: the sink creates "ready"
	// in it, and waits for the test to create "go".
	sinkHandshakeEnv = "CMDOP_TEST_SINK_HANDSHAKE"
)

// sinkRecord is what one run of the sink saw.
type sinkRecord struct {
	Secret       string            `json:"secret"`
	StdinNewline bool              `json:"stdin_newline"`
	ArgvHasIt    bool              `json:"argv_has_it"`
	EnvHasIt     bool              `json:"env_has_it"`
	EnvSecrets   int               `json:"env_secrets"` // anything token-shaped in the environment
	Env          map[string]string `json:"env"`
	Credentials  []string          `json:"credentials"` // CMDOP_TOKEN or CMDOP_API_KEY, if set
}

func runTestSink() int {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "reading stdin:", err)
		return 90
	}
	secret := strings.TrimSuffix(string(in), "\n")
	cmdline, _ := os.ReadFile("/proc/self/cmdline")
	environ, _ := os.ReadFile("/proc/self/environ")
	if len(cmdline) == 0 || len(environ) == 0 {
		fmt.Fprintln(os.Stderr, "cannot read /proc/self")
		return 91
	}
	rec := sinkRecord{
		Secret:       secret,
		StdinNewline: strings.HasSuffix(string(in), "\n") && secret != "",
		ArgvHasIt:    secret != "" && strings.Contains(string(cmdline), secret),
		EnvHasIt:     secret != "" && strings.Contains(string(environ), secret),
		EnvSecrets:   len(cmdopapi.SecretPattern.FindAllString(string(environ), -1)),
		Env:          map[string]string{},
	}
	for _, k := range []string{"CMDOP_TOKEN_ID", "CMDOP_TOKEN_NAME", "CMDOP_TOKEN_KEY_PREFIX", "CMDOP_FLEET_ID", "CMDOP_TOKEN_EXPIRES_AT", "SINK_EXTRA"} {
		if v, ok := os.LookupEnv(k); ok {
			rec.Env[k] = v
		}
	}
	for _, k := range []string{"CMDOP_TOKEN", "CMDOP_API_KEY"} {
		if _, ok := os.LookupEnv(k); ok {
			rec.Credentials = append(rec.Credentials, k)
		}
	}
	b, _ := json.Marshal(rec)
	f, err := os.OpenFile(os.Getenv(sinkEnv), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, "recording:", err)
		return 92
	}
	_, _ = f.Write(append(b, '\n'))
	_ = f.Close()
	// A handshake with the test, which changes the API's faults meanwhile.
	if dir := os.Getenv(sinkHandshakeEnv); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "ready"), nil, 0o600)
		for range 6000 {
			if _, err := os.Stat(filepath.Join(dir, "go")); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if code := os.Getenv(sinkExitEnv); code != "" {
		for i := 1; i < 25; i++ {
			fmt.Printf("sink line %d\n", i)
		}
		fmt.Fprintf(os.Stderr, "sink line 25: refusing %s\n", secret)
		n, _ := strconv.Atoi(code)
		return n
	}
	fmt.Println("delivered")
	return 0
}

// sinkRecords reads what the sink recorded, in order.
func sinkRecords(t *testing.T, file string) []sinkRecord {
	t.Helper()
	f, err := os.Open(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var out []sinkRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r sinkRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("a sink record is not JSON: %v", err)
		}
		out = append(out, r)
	}
	return out
}

// checkRecord checks what a run of the sink saw: the secret on stdin, with
// a newline, and nowhere in its argv or environment.
func checkRecord(t *testing.T, rec sinkRecord) {
	t.Helper()
	if !cmdopapi.SecretPattern.MatchString(rec.Secret) || !rec.StdinNewline {
		t.Errorf("the sink's standard input was not a secret followed by a newline")
	}
	if rec.ArgvHasIt || rec.EnvHasIt || rec.EnvSecrets != 0 {
		t.Errorf("the sink found a secret in its own argv (%v) or environment (%v, %d token-shaped values)", rec.ArgvHasIt, rec.EnvHasIt, rec.EnvSecrets)
	}
	if len(rec.Credentials) != 0 {
		t.Errorf("the sink's environment holds the provider's credentials %v", rec.Credentials)
	}
}

func sinkBinary(t *testing.T) string {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// stateOf is terraform show -json's view of one resource's attributes.
func stateOf(t *testing.T, run *cliRun, addr string) map[string]any {
	t.Helper()
	var show struct {
		Values struct {
			RootModule struct {
				Resources []struct {
					Address string         `json:"address"`
					Values  map[string]any `json:"values"`
				} `json:"resources"`
			} `json:"root_module"`
		} `json:"values"`
	}
	if err := json.Unmarshal([]byte(run.must("show", "-json")), &show); err != nil {
		t.Fatal(err)
	}
	for _, r := range show.Values.RootModule.Resources {
		if r.Address == addr {
			return r.Values
		}
	}
	return nil
}

func str(v any) string { s, _ := v.(string); return s }

// Done when 1 and 2: after apply neither the state file nor a TRACE log
// holds the secret; the command got it once, on standard input only, with
// the token's description in its environment and without the provider's
// credentials; the secret works, and secret_sha256 matches it. The file
// sink in json format gets its own secret. A second plan is empty.
func TestAccTokenDelivery_keepsSecretOutOfState(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	dir := t.TempDir()
	rec, file := filepath.Join(dir, "sink.jsonl"), filepath.Join(dir, "laptop.token")
	run := newCLIRun(t, api, map[string]string{"main.tf": fmt.Sprintf(`
resource "cmdop_fleet_token" "ci" {
  name   = "ci"
  scopes = ["machines:read"]
  secret_delivery {
    command = [%q, "secret", "set", "CMDOP_TOKEN"]
    env     = { CMDOP_TEST_SINK = %q, SINK_EXTRA = "yes" }
  }
  lifecycle {
    create_before_destroy = true
  }
}
resource "cmdop_personal_token" "laptop" {
  name   = "laptop"
  scopes = ["machines:read"]
  expiry = "never"
  secret_delivery {
    file   = %q
    format = "json"
  }
}
output "ci_secret" {
  value     = cmdop_fleet_token.ci.secret
  sensitive = true
}
output "laptop_secret" {
  value     = cmdop_personal_token.laptop.secret
  sensitive = true
}
`, sinkBinary(t), rec, file)})
	run.env = append(run.env, "CMDOP_API_KEY="+api.secret) // the provider's credentials, twice: the command sees neither
	run.withTraceLog()
	out := run.must("apply", "-auto-approve", "-no-color")

	recs := sinkRecords(t, rec)
	if len(recs) != 1 {
		t.Fatalf("the command ran %d times, want once", len(recs))
	}
	got := recs[0]
	checkRecord(t, got)
	ci, laptop := stateOf(t, run, "cmdop_fleet_token.ci"), stateOf(t, run, "cmdop_personal_token.laptop")
	if err := secretWorks(api.URL, got.Secret); err != nil {
		t.Fatalf("the delivered secret does not authenticate: %v", err)
	}
	if ci["secret"] != nil || laptop["secret"] != nil {
		t.Errorf("secret is not null in state")
	}
	if str(ci["secret_sha256"]) != sha256Hex(got.Secret) {
		t.Errorf("secret_sha256 %q does not match the delivered secret", ci["secret_sha256"])
	}
	if str(ci["secret_delivered_at"]) == "" || str(laptop["secret_delivered_at"]) == "" {
		t.Errorf("secret_delivered_at is not set")
	}
	tok := api.token(api.FleetID(), str(ci["id"]))
	wantEnv := map[string]string{
		"CMDOP_TOKEN_ID": tok.ID, "CMDOP_TOKEN_NAME": "ci", "CMDOP_TOKEN_KEY_PREFIX": tok.KeyPrefix,
		"CMDOP_FLEET_ID": api.FleetID(), "CMDOP_TOKEN_EXPIRES_AT": tok.ExpiresAt.UTC().Format(time.RFC3339), "SINK_EXTRA": "yes",
	}
	for k, v := range wantEnv {
		if got.Env[k] != v {
			t.Errorf("the command's %s is %q, want %q", k, got.Env[k], v)
		}
	}
	if !strings.HasPrefix(got.Secret, tok.KeyPrefix) {
		t.Errorf("the delivered secret is not the token's")
	}

	var js struct {
		Token     string  `json:"token"`
		ID        string  `json:"id"`
		KeyPrefix string  `json:"key_prefix"`
		ExpiresAt *string `json:"expires_at"`
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &js); err != nil || js.ID != str(laptop["id"]) || js.ExpiresAt != nil || js.KeyPrefix != str(laptop["key_prefix"]) {
		t.Fatalf("the json file is not {token, id, key_prefix, expires_at: null} of the token (%v)", err)
	}
	if err := secretWorks(api.URL, js.Token); err != nil || str(laptop["secret_sha256"]) != sha256Hex(js.Token) {
		t.Fatalf("the file's secret does not work (%v) or does not match secret_sha256", err)
	}

	// Outputs: null.
	var outputs map[string]struct{ Value any }
	if err := json.Unmarshal([]byte(run.must("output", "-json")), &outputs); err != nil {
		t.Fatal(err)
	}
	if outputs["ci_secret"].Value != nil || outputs["laptop_secret"].Value != nil {
		t.Errorf("an output holds a secret")
	}
	// A second plan is empty.
	if out, err := run.run("plan", "-no-color", "-detailed-exitcode"); err != nil {
		t.Fatalf("the plan after apply is not empty: %v\n%s", err, out)
	}

	state, err := os.ReadFile(filepath.Join(run.dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	logs, err := os.ReadFile(run.log)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) < 100_000 || !strings.Contains(string(logs), "Delivered the token's secret") {
		t.Fatalf("the TRACE log (%d bytes) lacks the provider's delivery line: the test would prove nothing", len(logs))
	}
	for name, text := range map[string]string{"the state file": string(state), "the TRACE log": string(logs), "the CLI output": out} {
		for _, s := range []string{got.Secret, js.Token} {
			if strings.Contains(text, s) {
				t.Errorf("%s contains a delivered secret", name)
			}
		}
		if name == "the state file" {
			if m := cmdopapi.SecretPattern.FindString(text); m != "" {
				t.Errorf("%s contains something shaped like a secret: %s…", name, m[:12])
			}
		}
	}
	t.Logf("checked %d bytes of state and %d bytes of TRACE log", len(state), len(logs))
}

// Done when 3 and 6: a failing command fails the apply with the sink, its
// status and the revocation; the API shows the new token revoked; with
// create_before_destroy the old token stays active and in state; without
// it, a new token leaves nothing in state. The plan shows why the block
// change replaces the token.
func TestAccTokenDelivery_failureRevokesTheNewToken(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	dir := t.TempDir()
	rec, failRec := filepath.Join(dir, "sink.jsonl"), filepath.Join(dir, "fail.jsonl")
	bin := sinkBinary(t)
	good := fmt.Sprintf(`
resource "cmdop_fleet_token" "ci" {
  name   = "ci"
  scopes = ["machines:read"]
  secret_delivery {
    command = [%q, "set"]
    env     = { CMDOP_TEST_SINK = %q }
  }
  lifecycle {
    create_before_destroy = true
  }
}
`, bin, rec)
	run := newCLIRun(t, api, map[string]string{"main.tf": good})
	run.must("apply", "-auto-approve", "-no-color")
	oldID := str(stateOf(t, run, "cmdop_fleet_token.ci")["id"])
	oldSecret := sinkRecords(t, rec)[0].Secret

	failing := fmt.Sprintf(`
resource "cmdop_fleet_token" "ci" {
  name   = "ci"
  scopes = ["machines:read"]
  secret_delivery {
    command = [%[1]q, "set", "--fail"]
    env     = { CMDOP_TEST_SINK = %[2]q, CMDOP_TEST_SINK_EXIT = "3" }
  }
  lifecycle {
    create_before_destroy = true
  }
}
resource "cmdop_personal_token" "fresh" {
  name   = "fresh"
  scopes = ["machines:read"]
  secret_delivery {
    command = [%[1]q, "set", "--fail"]
    env     = { CMDOP_TEST_SINK = %[2]q, CMDOP_TEST_SINK_EXIT = "4" }
  }
}
`, bin, failRec)
	if err := os.WriteFile(filepath.Join(run.dir, "main.tf"), []byte(failing), 0o600); err != nil {
		t.Fatal(err)
	}
	plan := run.must("plan", "-no-color")
	expectContains(t, plan, "cmdop_fleet_token.ci must be replaced", "secret_delivery { # forces replacement")
	before := api.writes()
	out, err := run.run("apply", "-auto-approve", "-no-color")
	if err == nil {
		t.Fatalf("the apply succeeded with a failing delivery command:\n%s", out)
	}
	recs := sinkRecords(t, failRec)
	if len(recs) != 2 {
		t.Fatalf("the failing commands ran %d times, want once each", len(recs))
	}
	for _, r := range recs {
		checkRecord(t, r)
		id := r.Env["CMDOP_TOKEN_ID"]
		fleet := r.Env["CMDOP_FLEET_ID"]
		if st := api.token(fleet, id).Status; st != cmdopapi.StatusRevoked {
			t.Errorf("the undelivered token %s is %s, want revoked", id, st)
		}
		if strings.Contains(out, r.Secret) {
			t.Errorf("the apply's output contains an undelivered secret")
		}
		expectContains(t, out, "Error delivering the secret of the", id, "exited with status", "was revoked at once")
	}
	if m := cmdopapi.SecretPattern.FindString(out); m != "" {
		t.Errorf("the output contains something shaped like a secret: %s…", m[:12])
	}
	expectContains(t, out, "exited with status 3", "exited with status 4", "sink line 25: refusing cmdop_***", "command sink (")
	expectNotContains(t, out, "sink line 5\n")
	// 2 creates and 2 revocations: the old token was not touched.
	if w := api.writes() - before; w != 4 {
		t.Errorf("the failed apply made %d API writes, want 4 (two creates, two revocations)", w)
	}
	if st := api.token(api.FleetID(), oldID); st.Status != cmdopapi.StatusActive || st.ExpiresAt == nil {
		t.Errorf("the old token is %s, want active and untouched", st.Status)
	}
	if err := secretWorks(api.URL, oldSecret); err != nil {
		t.Errorf("the old secret stopped working: %v", err)
	}
	if id := str(stateOf(t, run, "cmdop_fleet_token.ci")["id"]); id != oldID {
		t.Errorf("the state's token is %s, want the old %s", id, oldID)
	}
	list := run.must("state", "list")
	if strings.Contains(list, "cmdop_personal_token.fresh") {
		t.Errorf("the undelivered new token left an object in state:\n%s", list)
	}
	// Back to the working configuration: nothing to do.
	if err := os.WriteFile(filepath.Join(run.dir, "main.tf"), []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := run.run("plan", "-no-color", "-detailed-exitcode"); err != nil {
		t.Fatalf("the old token's plan is not empty after the failed replacement: %v\n%s", err, out)
	}
}

// Done when 4: -replace with create_before_destroy and a grace period
// delivers the new secret first, then shortens the old token's expiry; the
// old token stops working after the grace period.
func TestAccTokenDelivery_replaceDeliversFirst(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	file := filepath.Join(t.TempDir(), "ci.token")
	run := newCLIRun(t, api, map[string]string{"main.tf": fmt.Sprintf(`
resource "cmdop_fleet_token" "ci" {
  name                = "ci"
  scopes              = ["machines:read"]
  revoke_grace_period = "1h"
  secret_delivery {
    file = %q
  }
  lifecycle {
    create_before_destroy = true
  }
}
`, file)})
	run.must("apply", "-auto-approve", "-no-color")
	read := func() string {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	oldSecret := read()
	old := stateOf(t, run, "cmdop_fleet_token.ci")
	if str(old["secret_sha256"]) != sha256Hex(oldSecret) {
		t.Fatal("the raw file's SHA-256 is not secret_sha256")
	}

	out := run.must("apply", "-auto-approve", "-no-color", "-replace=cmdop_fleet_token.ci")
	expectContains(t, out, "cmdop_fleet_token.ci (deposed object")
	newSecret := read()
	cur := stateOf(t, run, "cmdop_fleet_token.ci")
	if newSecret == oldSecret || str(cur["secret_sha256"]) != sha256Hex(newSecret) || str(cur["id"]) == str(old["id"]) {
		t.Fatal("the file does not hold the new token's secret")
	}
	if err := secretWorks(api.URL, newSecret); err != nil {
		t.Fatalf("the new secret does not work: %v", err)
	}
	if err := secretWorks(api.URL, oldSecret); err != nil {
		t.Fatalf("the old secret must work during the grace period: %v", err)
	}
	// On the API's clock: the new token was issued and delivered before the
	// old one's expiry was shortened.
	issued, err := firstEvent(api, cmdopapi.ActionTokenIssued, str(cur["id"]))
	if err != nil {
		t.Fatal(err)
	}
	shortened, err := firstEvent(api, cmdopapi.ActionTokenExpiryShortened, str(old["id"]))
	if err != nil {
		t.Fatal(err)
	}
	delivered, err := time.Parse(time.RFC3339Nano, str(cur["secret_delivered_at"]))
	if err != nil {
		t.Fatal(err)
	}
	if issued.After(shortened) || delivered.After(shortened) {
		t.Errorf("the old token was shortened at %s, before the new one was issued (%s) and delivered (%s)", shortened, issued, delivered)
	}
	api.advance(61 * time.Minute)
	if err := secretRejected(api.URL, oldSecret); err != nil {
		t.Fatalf("after the grace period: %v", err)
	}
	if err := secretWorks(api.URL, newSecret); err != nil {
		t.Fatalf("the new secret stopped working: %v", err)
	}
}

// Done when 5: the file sink writes mode 0600 by default (and the
// configured mode otherwise) in each format, replacing an existing file.
func TestAccTokenDelivery_fileFormats(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	dir := t.TempDir()
	files := map[string]string{}
	for _, f := range []string{"raw", "dotenv", "json", "mode"} {
		files[f] = filepath.Join(dir, f+".token")
	}
	// An existing file, readable by all, is replaced.
	if err := os.WriteFile(files["raw"], []byte("old content"), 0o644); err != nil { //nolint:gosec // the point of the test
		t.Fatal(err)
	}
	config := api.config(fmt.Sprintf(`
resource "cmdop_personal_token" "raw" {
  name   = "raw"
  scopes = ["machines:read"]
  secret_delivery {
    file = %q
  }
}
resource "cmdop_fleet_token" "dotenv" {
  name   = "dotenv"
  scopes = ["machines:read"]
  secret_delivery {
    file   = %q
    format = "dotenv"
  }
}
resource "cmdop_fleet_token" "json" {
  name   = "json"
  scopes = ["machines:read"]
  expiry = "30d"
  secret_delivery {
    file   = %q
    format = "json"
    mode   = "0600"
  }
}
resource "cmdop_fleet_token" "mode" {
  name   = "mode"
  scopes = ["machines:read"]
  secret_delivery {
    file   = %q
    format = "raw"
    mode   = "640"
  }
}
`, files["raw"], files["dotenv"], files["json"], files["mode"]))
	secretOf := map[string]func(string) (string, error){
		"raw": func(s string) (string, error) { return s, nil },
		"dotenv": func(s string) (string, error) {
			v, ok := strings.CutPrefix(s, "CMDOP_TOKEN=")
			if !ok || !strings.HasSuffix(v, "\n") || strings.ContainsAny(strings.TrimSuffix(v, "\n"), "\"'\n") {
				return "", errors.New("not CMDOP_TOKEN=<secret>, unquoted, with a newline")
			}
			return strings.TrimSuffix(v, "\n"), nil
		},
		"json": func(s string) (string, error) {
			var v struct {
				Token     string  `json:"token"`
				ExpiresAt *string `json:"expires_at"`
			}
			if err := json.Unmarshal([]byte(s), &v); err != nil || v.ExpiresAt == nil {
				return "", fmt.Errorf("not json with expires_at (%v)", err)
			}
			return v.Token, nil
		},
	}
	secretOf["mode"] = secretOf["raw"]
	check := func(s *terraform.State) error {
		for name, file := range files {
			addr := "cmdop_fleet_token." + name
			if name == "raw" {
				addr = "cmdop_personal_token.raw"
			}
			a, err := attrs(s, addr)
			if err != nil {
				return err
			}
			st, err := os.Stat(file)
			if err != nil {
				return err
			}
			want := os.FileMode(0o600)
			if name == "mode" {
				want = 0o640
			}
			if st.Mode().Perm() != want {
				return fmt.Errorf("%s has mode %o, want %o", file, st.Mode().Perm(), want)
			}
			b, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			secret, err := secretOf[name](string(b))
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if err := secretWorks(api.URL, secret); err != nil {
				return fmt.Errorf("%s: the file's secret does not work: %w", name, err)
			}
			if a["secret_sha256"] != sha256Hex(secret) || a["secret"] != "" {
				return fmt.Errorf("%s: secret_sha256 does not match the file, or secret is not null", name)
			}
		}
		left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
		if len(left) != 0 {
			return fmt.Errorf("temporary files left behind: %v", left)
		}
		return nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: config,
			Check:  check,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("cmdop_fleet_token.json", tfjsonpath.New("secret"), knownvalue.Null()),
				statecheck.ExpectKnownValue("cmdop_fleet_token.json", tfjsonpath.New("secret_sha256"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{64}$`))),
			},
		}},
	})
}

// expectReplacePath checks that the plan replaces addr because of path.
type expectReplacePath struct{ addr, path string }

func (e expectReplacePath) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address != e.addr {
			continue
		}
		for _, p := range rc.Change.ReplacePaths {
			if ps, ok := p.([]any); ok && len(ps) == 1 && ps[0] == e.path {
				return
			}
		}
		resp.Error = fmt.Errorf("%s is not replaced because of %s: replace_paths %v", e.addr, e.path, rc.Change.ReplacePaths)
		return
	}
	resp.Error = fmt.Errorf("%s is not in the plan", e.addr)
}

// Done when 6: plans after apply are empty (the harness checks after every
// step); env and timeout change only state, with no second delivery;
// changing the sink, removing the block, adding it, and adding it to an
// imported token replace the token, with secret_delivery as the reason.
func TestAccTokenDelivery_plans(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	dir := t.TempDir()
	rec, file := filepath.Join(dir, "sink.jsonl"), filepath.Join(dir, "t.token")
	bin := sinkBinary(t)
	imported := api.createToken(api.FleetID(), "imported", nil)
	cmd := func(args, extra string) string {
		return api.config(fmt.Sprintf(`
resource "cmdop_fleet_token" "x" {
  name   = "x"
  scopes = ["machines:read"]
  secret_delivery {
    command = [%q%s]
    env     = { CMDOP_TEST_SINK = %q%s }
  }
}
`, bin, args, rec, extra))
	}
	withBlock := func(block string) string {
		return api.config(fmt.Sprintf("resource \"cmdop_fleet_token\" \"x\" {\n  name = \"x\"\n  scopes = [\"machines:read\"]\n%s\n}\n", block))
	}
	var id, id2 string
	replaced := func(action plancheck.ResourceActionType) resource.ConfigPlanChecks {
		return resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
			plancheck.ExpectResourceAction("cmdop_fleet_token.x", action),
			expectReplacePath{"cmdop_fleet_token.x", "secret_delivery"},
		}}
	}
	deliveries := func(n int) resource.TestCheckFunc {
		return func(*terraform.State) error {
			if got := len(sinkRecords(t, rec)); got != n {
				return fmt.Errorf("the command ran %d times, want %d", got, n)
			}
			return nil
		}
	}
	importCfg := api.config(`
resource "cmdop_fleet_token" "imported" {
  name   = "imported"
  scopes = ["machines:read"]
  expiry = "90d"
  secret_delivery {
    file = "` + filepath.Join(dir, "imported.token") + `"
  }
}
`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cmd("", ""), Check: resource.ComposeTestCheckFunc(capture("cmdop_fleet_token.x", "id", &id), deliveries(1)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("cmdop_fleet_token.x", tfjsonpath.New("secret"), knownvalue.Null()),
				}},
			// env and timeout: an update in state, no new token, no second delivery.
			{Config: strings.Replace(cmd("", `, SINK_EXTRA = "1"`), "  }\n}", "    timeout = \"30s\"\n  }\n}", 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("cmdop_fleet_token.x", plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeTestCheckFunc(resource.TestCheckResourceAttrPtr("cmdop_fleet_token.x", "id", &id),
					resource.TestCheckResourceAttr("cmdop_fleet_token.x", "secret_delivery.timeout", "30s"), deliveries(1))},
			// The command: a replacement, delivered again.
			{Config: cmd(`, "other"`, ""), ConfigPlanChecks: replaced(plancheck.ResourceActionDestroyBeforeCreate),
				Check: resource.ComposeTestCheckFunc(capture("cmdop_fleet_token.x", "id", &id2), deliveries(2))},
			// From command to file, then the format: replacements.
			{Config: withBlock(fmt.Sprintf("secret_delivery {\n  file = %q\n}", file)), ConfigPlanChecks: replaced(plancheck.ResourceActionDestroyBeforeCreate)},
			{Config: withBlock(fmt.Sprintf("secret_delivery {\n  file = %q\n  format = \"dotenv\"\n}", file)), ConfigPlanChecks: replaced(plancheck.ResourceActionDestroyBeforeCreate)},
			// The mode: a replacement; the same mode written another way is not.
			{Config: withBlock(fmt.Sprintf("secret_delivery {\n  file = %q\n  format = \"dotenv\"\n  mode = \"0400\"\n}", file)), ConfigPlanChecks: replaced(plancheck.ResourceActionDestroyBeforeCreate)},
			{Config: withBlock(fmt.Sprintf("secret_delivery {\n  file = %q\n  format = \"dotenv\"\n  mode = \"400\"\n}", file)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("cmdop_fleet_token.x", plancheck.ResourceActionUpdate)}}},
			// Removing the block: a replacement whose secret is in state again.
			{Config: withBlock(""), ConfigPlanChecks: replaced(plancheck.ResourceActionDestroyBeforeCreate),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("cmdop_fleet_token.x", tfjsonpath.New("secret"), knownvalue.StringRegexp(cmdopapi.SecretPattern)),
					statecheck.ExpectKnownValue("cmdop_fleet_token.x", tfjsonpath.New("secret_sha256"), knownvalue.Null()),
					statecheck.ExpectKnownValue("cmdop_fleet_token.x", tfjsonpath.New("secret_delivered_at"), knownvalue.Null()),
				}},
			// Adding it to an existing token: a replacement.
			{Config: cmd("", ""), ConfigPlanChecks: replaced(plancheck.ResourceActionDestroyBeforeCreate), Check: deliveries(3)},
			// Adding it to an imported token: a replacement.
			{Config: importCfg, ResourceName: "cmdop_fleet_token.imported", ImportState: true, ImportStatePersist: true,
				ImportStateId: api.FleetID() + "/" + imported.ID},
			{Config: importCfg, ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction("cmdop_fleet_token.imported", plancheck.ResourceActionDestroyBeforeCreate),
				expectReplacePath{"cmdop_fleet_token.imported", "secret_delivery"},
			}}},
		},
		CheckDestroy: func(*terraform.State) error {
			if len(api.activeTokens(api.FleetID())) != 0 {
				return errors.New("a token is still active after destroy")
			}
			if id == id2 {
				return errors.New("changing the command did not replace the token")
			}
			return nil
		},
	})
}

// Done when 7: bad input stops at plan, naming the argument and the fix,
// with 0 writes to the API.
func TestAccTokenDelivery_badInputStopsAtPlan(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	dir := t.TempDir()
	before := api.writes()
	t.Cleanup(func() {
		if w := api.writes() - before; w != 0 {
			t.Errorf("bad input made %d write calls to the API, want 0", w)
		}
	})
	token := func(block string) string {
		return api.config(fmt.Sprintf("resource \"cmdop_fleet_token\" \"x\" {\n  name = \"x\"\n  scopes = [\"machines:read\"]\n  secret_delivery {\n%s\n  }\n}\n", block))
	}
	file := strconv.Quote(filepath.Join(dir, "x.token"))
	cases := []struct {
		name, config string
		want         []string
	}{
		{"empty command", token("command = []"), []string{"Empty delivery command", "secret_delivery.command is empty"}},
		{"blank program", token(`command = [" ", "x"]`), []string{"Empty delivery command", "command[0]"}},
		{"null argument", token(`command = ["true", null]`), []string{"Empty delivery command", "command[1]"}},
		{"both sinks", token(`command = ["true"]` + "\nfile = " + file), []string{"needs exactly one sink", "sets both command and file"}},
		{"no sink", token(""), []string{"needs exactly one sink", "sets neither command nor file"}},
		{"relative path in a missing directory", token(`file = "no-such-dir/x.token"`), []string{"Invalid delivery file", "no-such-dir", "relative path", "does not exist"}},
		{"absolute path in a missing directory", token(`file = "/no/such/dir/x.token"`), []string{"Invalid delivery file", "does not exist"}},
		{"a directory", token("file = " + strconv.Quote(dir)), []string{"Invalid delivery file", "is a directory"}},
		{"unknown format", token("file = " + file + "\nformat = \"yaml\""), []string{"secret_delivery.format", "raw", "dotenv", "json", "yaml"}},
		{"bad mode", token("file = " + file + "\nmode = \"rw-r--r--\""), []string{"secret_delivery.mode", "octal digits"}},
		{"mode with a command", token("command = [\"true\"]\nmode = \"0600\""), []string{"secret_delivery.mode is only for the file sink"}},
		{"format with a command", token("command = [\"true\"]\nformat = \"raw\""), []string{"secret_delivery.format is only for the file sink"}},
		{"env with a file", token("file = " + file + "\nenv = { A = \"b\" }"), []string{"secret_delivery.env is only for the command sink"}},
		{"timeout with a file", token("file = " + file + "\ntimeout = \"1m\""), []string{"secret_delivery.timeout is only for the command sink"}},
		{"zero timeout", token("command = [\"true\"]\ntimeout = \"0s\""), []string{"Invalid delivery timeout", "positive duration"}},
		{"bad timeout", token("command = [\"true\"]\ntimeout = \"soon\""), []string{"secret_delivery.timeout", "not a valid duration"}},
		{"reserved env", token("command = [\"true\"]\nenv = { CMDOP_TOKEN_ID = \"x\" }"), []string{"Invalid delivery environment variable", "CMDOP_TOKEN_ID"}},
		{"credential env", token("command = [\"true\"]\nenv = { CMDOP_TOKEN = \"x\" }"), []string{"Invalid delivery environment variable", "CMDOP_TOKEN"}},
		{"bad env name", token("command = [\"true\"]\nenv = { \"A-B\" = \"x\" }"), []string{"Invalid delivery environment variable", "A-B"}},
		{"program not found", token(`command = ["cmdop-no-such-program", "x"]`), []string{"Delivery command not found", "cmdop-no-such-program", "PATH"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps:                    []resource.TestStep{{Config: tc.config, PlanOnly: true, ExpectError: phrases(tc.want...)}},
			})
		})
	}
	// Values known only at apply: checked there, before the token is issued.
	for _, tc := range []struct{ name, input, block, want string }{
		{"missing directory known at apply", "/no/such/dir", `file = "${terraform_data.v.output}/x.token"`, "does not exist"},
		{"mode with a command known at apply", "0600", "command = [\"true\"]\n    mode = terraform_data.v.output", "secret_delivery.mode is only for the file sink"},
		{"program known at apply", "cmdop-no-such-program", "command = [terraform_data.v.output]", "Delivery command not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config: api.config(fmt.Sprintf(`
resource "terraform_data" "v" {
  input = %q
}
resource "cmdop_fleet_token" "x" {
  name   = "x"
  scopes = ["machines:read"]
  secret_delivery {
    %s
  }
}
`, tc.input, tc.block)),
					ExpectError: phrases(tc.want),
				}},
			})
		})
	}
}

// The guide "Keeping secrets out of state" runs in TestAccExamples: all of
// its examples, as written, with stand-in gh, aws, vault and kubectl on PATH
// and a temporary HOME (exampleHooks), each sink checked through the API
// (examplePromises' delivered).

// Rotation by rotation_triggers and by rotate_before, with
// create_before_destroy: each delivers the new secret, then revokes the old
// token, whose secret then fails with 401.
func TestAccTokenDelivery_rotation(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	file := filepath.Join(t.TempDir(), "ci.token")
	cfg := func(trigger string) string {
		return api.config(fmt.Sprintf(`
resource "cmdop_fleet_token" "ci" {
  name              = "ci"
  scopes            = ["machines:read"]
  expiry            = "30d"
  rotate_before     = "7d"
  rotation_triggers = { v = %q }
  secret_delivery {
    file = %q
  }
  lifecycle {
    create_before_destroy = true
  }
}
`, trigger, file))
	}
	var secrets []string
	delivered := func(st *terraform.State) error {
		// secret_delivered_at is on the API's clock, which the last step
		// moves 24 days ahead of this machine's: just after created_at.
		a, err := attrs(st, "cmdop_fleet_token.ci")
		if err != nil {
			return err
		}
		created, err1 := time.Parse(time.RFC3339Nano, a["created_at"])
		at, err2 := time.Parse(time.RFC3339Nano, a["secret_delivered_at"])
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		if at.Before(created.Add(-time.Second)) || at.After(created.Add(time.Minute)) {
			return fmt.Errorf("secret_delivered_at %s is not on the API's clock (created_at %s)", at, created)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		s := string(b)
		if err := secretWorks(api.URL, s); err != nil {
			return fmt.Errorf("the file's secret does not work: %w", err)
		}
		for _, old := range secrets {
			if old == s {
				return errors.New("the file still holds an earlier secret")
			}
			if err := secretRejected(api.URL, old); err != nil {
				return fmt.Errorf("an earlier token: %w", err)
			}
		}
		secrets = append(secrets, s)
		return nil
	}
	rotated := resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
		plancheck.ExpectResourceAction("cmdop_fleet_token.ci", plancheck.ResourceActionCreateBeforeDestroy),
	}}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg("1"), Check: delivered},
			{Config: cfg("2"), ConfigPlanChecks: rotated, Check: delivered},
			{PreConfig: func() { api.advance(24 * 24 * time.Hour) }, Config: cfg("2"), ConfigPlanChecks: rotated, Check: delivered},
		},
	})
	if len(secrets) != 3 {
		t.Fatalf("%d deliveries, want 3", len(secrets))
	}
}

// A delivery fails and so does the revocation: the undelivered token stays
// in state as tainted (its secret nowhere), so that the next apply revokes
// it and issues a new one, rather than being left live and unknown.
func TestAccTokenDelivery_revocationFailsToo(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	dir := t.TempDir()
	rec, handshake, file := filepath.Join(dir, "sink.jsonl"), filepath.Join(dir, "hs"), filepath.Join(dir, "t.token")
	if err := os.Mkdir(handshake, 0o700); err != nil {
		t.Fatal(err)
	}
	// While the failing command runs, the API starts failing: the
	// revocation that follows gets a 503, and max_retries = 0 gives up.
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if _, err := os.Stat(filepath.Join(handshake, "ready")); err == nil {
				_ = api.srv.SetFaults(cmdoplocal.FaultConfig{Script: []string{"unavailable", "unavailable", "unavailable"}})
				_ = os.WriteFile(filepath.Join(handshake, "go"), nil, 0o600)
				return
			}
		}
	}()
	provider := api.providerWith("", "max_retries = 0")
	failing := provider + fmt.Sprintf(`
resource "cmdop_fleet_token" "x" {
  name   = "x"
  scopes = ["machines:read"]
  # A token nobody holds the secret of is revoked at once all the same.
  revoke_grace_period = "1h"
  secret_delivery {
    command = [%q]
    env     = { CMDOP_TEST_SINK = %q, CMDOP_TEST_SINK_EXIT = "1", CMDOP_TEST_SINK_HANDSHAKE = %q }
  }
}
`, sinkBinary(t), rec, handshake)
	working := provider + fmt.Sprintf(`
resource "cmdop_fleet_token" "x" {
  name   = "x"
  scopes = ["machines:read"]
  # A token nobody holds the secret of is revoked at once all the same.
  revoke_grace_period = "1h"
  secret_delivery {
    file = %q
  }
}
`, file)
	var undelivered string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: failing, ExpectError: phrases("Error delivering the secret of the", "exited with status 1", "Revoking token", "failed too", "tainted")},
			{
				PreConfig: func() {
					api.setFaults(cmdoplocal.FaultConfig{})
					recs := sinkRecords(t, rec)
					if len(recs) != 1 {
						t.Fatalf("the command ran %d times, want once", len(recs))
					}
					undelivered = recs[0].Env["CMDOP_TOKEN_ID"]
					if st := api.token(api.FleetID(), undelivered).Status; st != cmdopapi.StatusActive {
						t.Fatalf("the undelivered token is %s; the test needs its revocation to have failed", st)
					}
				},
				Config: working,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("cmdop_fleet_token.x", plancheck.ResourceActionReplace),
				}},
				Check: func(s *terraform.State) error {
					if st := api.token(api.FleetID(), undelivered).Status; st != cmdopapi.StatusRevoked {
						return fmt.Errorf("the undelivered token is %s after the next apply, want revoked", st)
					}
					b, err := os.ReadFile(file)
					if err != nil {
						return err
					}
					return secretWorks(api.URL, string(b))
				},
			},
		},
	})
}

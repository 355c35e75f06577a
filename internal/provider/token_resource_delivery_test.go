package provider

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// A value shaped like a token, made up for these tests.
const fakeSecret = "cmdop_" + "0123456789abcdefABCDEF"

func fakeToken(expires bool) *cmdopapi.Token {
	tok := &cmdopapi.Token{ID: "0b8c7a4e-4f7e-4c3a-9d1e-2f3a4b5c6d7e", FleetID: "fleet-1", Name: "ci", KeyPrefix: fakeSecret[:12], RawToken: fakeSecret}
	if expires {
		at := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
		tok.ExpiresAt = &at
	}
	return tok
}

func TestDeliveryFileContent(t *testing.T) {
	never, expiring := fakeToken(false), fakeToken(true)
	for _, tc := range []struct {
		format string
		tok    *cmdopapi.Token
		want   string
	}{
		{formatRaw, never, fakeSecret},
		{formatDotenv, never, "CMDOP_TOKEN=" + fakeSecret + "\n"},
		{formatJSON, never, `{"token":"` + fakeSecret + `","id":"` + never.ID + `","key_prefix":"` + never.KeyPrefix + `","expires_at":null}` + "\n"},
		{formatJSON, expiring, `{"token":"` + fakeSecret + `","id":"` + never.ID + `","key_prefix":"` + never.KeyPrefix + `","expires_at":"2027-03-01T09:00:00Z"}` + "\n"},
	} {
		if got := string(deliveryFileContent(tc.format, tc.tok)); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.format, cmdopapi.Redact(got), cmdopapi.Redact(tc.want))
		}
	}
}

func TestWriteDeliveryFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "t.token")
	if err := os.WriteFile(name, []byte("old"), 0o644); err != nil { //nolint:gosec // replaced below
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o600, 0o640, 0o400} {
		if err := writeDeliveryFile(name, []byte("new"), mode); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(name)
		if st.Mode().Perm() != mode || string(b) != "new" {
			t.Errorf("mode %o: the file has mode %o and %q", mode, st.Mode().Perm(), b)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the directory holds %d entries, want the file alone", len(entries))
	}
	missing := filepath.Join(dir, "no", "t.token")
	if err := writeDeliveryFile(missing, []byte("x"), 0o600); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("writing into a missing directory: %v", err)
	}
}

func TestDeliveryEnv(t *testing.T) {
	t.Setenv("CMDOP_TOKEN", fakeSecret)
	t.Setenv("CMDOP_API_KEY", fakeSecret)
	t.Setenv("CMDOP_TOKEN_ID", "stale")
	t.Setenv("KEEP_ME", "1")
	d := &deliveryModel{Env: types.MapValueMust(types.StringType, map[string]attr.Value{"EXTRA": types.StringValue("x"), "KEEP_ME": types.StringValue("2")})}
	env := deliveryEnv(fleetToken, d, fakeToken(false))
	for _, want := range []string{"EXTRA=x", "KEEP_ME=2", "CMDOP_TOKEN_ID=" + fakeToken(false).ID, "CMDOP_TOKEN_NAME=ci",
		"CMDOP_TOKEN_KEY_PREFIX=" + fakeSecret[:12], "CMDOP_FLEET_ID=fleet-1", "CMDOP_TOKEN_EXPIRES_AT="} {
		if !slices.Contains(env, want) {
			t.Errorf("the environment lacks %s", want)
		}
	}
	for _, kv := range env {
		if strings.Contains(kv, fakeSecret) || kv == "KEEP_ME=1" || kv == "CMDOP_TOKEN_ID=stale" {
			t.Errorf("the environment holds %s", cmdopapi.Redact(kv))
		}
	}
	personal := deliveryEnv(personalToken, &deliveryModel{}, fakeToken(true))
	if !slices.Contains(personal, "CMDOP_TOKEN_EXPIRES_AT=2027-03-01T09:00:00Z") || slices.ContainsFunc(personal, func(s string) bool { return strings.HasPrefix(s, "CMDOP_FLEET_ID=") }) {
		t.Errorf("a personal token's environment: expires_at missing, or a fleet ID set")
	}
}

func TestRunDeliveryCommand(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	ctx := context.Background()
	// The secret and a newline on stdin, exactly.
	out, err := runDeliveryCommand(ctx, []string{sh, "-c", `IFS= read -r x && [ "$x" = "` + fakeSecret + `" ] && ! read -r y && echo ok`}, nil, fakeSecret, time.Minute)
	if err != nil || strings.TrimSpace(out) != "ok" {
		t.Errorf("stdin: %v, %q", err, out)
	}
	_, err = runDeliveryCommand(ctx, []string{sh, "-c", "exit 7"}, nil, fakeSecret, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "exited with status 7") {
		t.Errorf("exit status: %v", err)
	}
	_, err = runDeliveryCommand(ctx, []string{sh, "-c", "sleep 30"}, nil, fakeSecret, 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "timed out after 50ms") {
		t.Errorf("timeout: %v", err)
	}
	_, err = runDeliveryCommand(ctx, []string{"/no/such/program"}, nil, fakeSecret, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "could not run") {
		t.Errorf("missing program: %v", err)
	}
}

func TestDeliveryOutput(t *testing.T) {
	var b strings.Builder
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	b.WriteString("secret " + fakeSecret + " and cmdop_" + strings.Repeat("Z", 20) + "\n")
	got := lastLines(maskOutput(b.String(), fakeSecret), 20)
	if strings.Contains(got, "cmdop_0") || strings.Contains(got, "cmdop_Z") || strings.Count(got, "cmdop_***") != 2 {
		t.Errorf("not masked: %s", got)
	}
	lines := strings.Split(got, "\n")
	if len(lines) != 20 || lines[0] != "line 12" {
		t.Errorf("want the last 20 lines from line 12, got %d from %q", len(lines), lines[0])
	}
	tb := &tailBuffer{max: 10}
	_, _ = tb.Write([]byte("0123456789abc"))
	_, _ = tb.Write([]byte("de"))
	if tb.String() != "56789abcde" {
		t.Errorf("tailBuffer keeps %q", tb.String())
	}
}

func TestDeliverySinkChanged(t *testing.T) {
	ctx := context.Background()
	obj := func(kv map[string]attr.Value) types.Object {
		vals := map[string]attr.Value{
			"command": types.ListNull(types.StringType), "file": types.StringNull(), "format": types.StringNull(),
			"mode": types.StringNull(), "env": types.MapNull(types.StringType), "timeout": types.StringNull(),
		}
		for k, v := range kv {
			vals[k] = v
		}
		return types.ObjectValueMust(deliveryAttrTypes, vals)
	}
	cmd := func(args ...string) attr.Value { v, _ := types.ListValueFrom(ctx, types.StringType, args); return v }
	s := types.StringValue
	base := obj(map[string]attr.Value{"file": s("/a")})
	null := types.ObjectNull(deliveryAttrTypes)
	for _, tc := range []struct {
		name        string
		state, plan types.Object
		want        bool
	}{
		{"added", null, base, true},
		{"removed", base, null, true},
		{"file", base, obj(map[string]attr.Value{"file": s("/b")}), true},
		{"format", base, obj(map[string]attr.Value{"file": s("/a"), "format": s("json")}), true},
		{"format made explicit", base, obj(map[string]attr.Value{"file": s("/a"), "format": s("raw")}), false},
		{"mode", base, obj(map[string]attr.Value{"file": s("/a"), "mode": s("0640")}), true},
		{"mode made explicit", base, obj(map[string]attr.Value{"file": s("/a"), "mode": s("600")}), false},
		{"command", obj(map[string]attr.Value{"command": cmd("a")}), obj(map[string]attr.Value{"command": cmd("a", "b")}), true},
		{"env and timeout", obj(map[string]attr.Value{"command": cmd("a")}), obj(map[string]attr.Value{"command": cmd("a"),
			"env": types.MapValueMust(types.StringType, map[string]attr.Value{"A": s("b")}), "timeout": s("5m")}), false},
	} {
		var resp objectplanmodifier.RequiresReplaceIfFuncResponse
		deliverySinkChanged(ctx, planmodifier.ObjectRequest{StateValue: tc.state, PlanValue: tc.plan}, &resp)
		if resp.Diagnostics.HasError() || resp.RequiresReplace != tc.want {
			t.Errorf("%s: replace %v, want %v (%v)", tc.name, resp.RequiresReplace, tc.want, resp.Diagnostics)
		}
	}
}

// The cost of a delivery, beside the API calls of a create: writing the
// file sink, and starting the command sink (true(1), which does nothing).
func BenchmarkWriteDeliveryFile(b *testing.B) {
	name := filepath.Join(b.TempDir(), "t.token")
	data := deliveryFileContent(formatJSON, fakeToken(true))
	for b.Loop() {
		if err := writeDeliveryFile(name, data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRunDeliveryCommand(b *testing.B) {
	prog, err := exec.LookPath("true")
	if err != nil {
		b.Skip("no true(1)")
	}
	env := deliveryEnv(fleetToken, &deliveryModel{}, fakeToken(true))
	for b.Loop() {
		if _, err := runDeliveryCommand(context.Background(), []string{prog}, env, fakeSecret, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

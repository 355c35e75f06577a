package provider_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal/localtest"
)

// The guide "Responding to a leaked token" (examples/guides/leaked-token),
// step by step against cmdop-local on Terraform 1.14+: the key prefix finds
// the token and its use since the leak, the action revokes it and nothing
// else, and the audit log then shows the revocation, under the request ID
// the action reported, and the failed use of the leaked secret.
func TestAccLeakedTokenGuide(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipUnlessQuery(t)
	leakedAt := api.srv.Now().Add(-time.Minute)
	leaked := api.createToken(api.FleetID(), "ci-agents", nil)
	bystander := api.createToken(api.FleetID(), "ci-other", nil)
	if err := secretWorks(api.URL, leaked.RawToken); err != nil { // the attacker's use
		t.Fatal(err)
	}
	files := map[string]string{"zz_provider.tf": "provider \"cmdop\" {}\n"}
	dir := filepath.Join(localtest.RepoRoot(), "examples", "guides", "leaked-token")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	run := newCLIRun(t, api, files)
	vars := []string{"-var", "leaked_key_prefix=" + leaked.KeyPrefix, "-var", "leaked_at=" + leakedAt.Format(time.RFC3339)}

	// 1. Find it.
	run.must(append([]string{"apply", "-refresh-only", "-auto-approve", "-no-color", "-input=false"}, vars...)...)
	var found map[string]struct {
		Name      string   `json:"name"`
		Status    string   `json:"status"`
		UsedSince []string `json:"used_since"`
	}
	if err := json.Unmarshal([]byte(run.must("output", "-json", "leaked_tokens")), &found); err != nil {
		t.Fatal(err)
	}
	if f, ok := found[leaked.ID]; len(found) != 1 || !ok || f.Name != "ci-agents" || f.Status != cmdopapi.StatusActive || len(f.UsedSince) != 1 {
		t.Fatalf("leaked_tokens = %+v, want only %s, active, used once since the leak", found, leaked.ID)
	}

	// 2. Revoke it: a typo in the key prefix fails and revokes nothing, a
	// dry run revokes nothing, then the real run.
	typo := leaked.KeyPrefix[:len(leaked.KeyPrefix)-1] + "0"
	if typo == leaked.KeyPrefix || typo == bystander.KeyPrefix {
		typo = leaked.KeyPrefix[:len(leaked.KeyPrefix)-1] + "1"
	}
	api.srv.ResetStats()
	out, err := run.run("apply", "-invoke=action.cmdop_revoke_tokens.leak", "-auto-approve", "-no-color", "-input=false",
		"-var", "leaked_key_prefix="+typo, "-var", "leaked_at="+leakedAt.Format(time.RFC3339))
	if err == nil {
		t.Fatalf("a mistyped key prefix succeeded:\n%s", out)
	}
	expectContains(t, out, "No token matched the cmdop_revoke_tokens selection", "- key_prefixes: "+typo)
	out = run.must(append([]string{"apply", "-invoke=action.cmdop_revoke_tokens.leak", "-auto-approve", "-no-color", "-input=false", "-var", "dry_run=true"}, vars...)...)
	expectContains(t, out, "(dry run: nothing is revoked)", "summary: would revoke 1, already revoked 0, failed 0.", `fleet token "ci-agents"`)
	if n := api.writes(); n != 0 {
		t.Fatalf("the typo and the dry run made %d write calls, want 0", n)
	}
	out = run.must(append([]string{"apply", "-invoke=action.cmdop_revoke_tokens.leak", "-auto-approve", "-no-color", "-input=false"}, vars...)...)
	expectContains(t, out, "summary: revoked 1, already revoked 0, failed 0.")
	if err := api.expectStatus(map[*cmdopapi.Token]string{leaked: cmdopapi.StatusRevoked, bystander: cmdopapi.StatusActive}); err != nil {
		t.Fatal(err)
	}
	reqID, err := api.revokedBy(leaked, api.adminTokenID(t))
	if err != nil {
		t.Fatal(err)
	}
	expectContains(t, out, reqID)

	// 4. Check the audit log: the revocation, then the leaked secret refused.
	if err := secretRejected(api.URL, leaked.RawToken); err != nil {
		t.Fatal(err)
	}
	run.must(append([]string{"apply", "-refresh-only", "-auto-approve", "-no-color", "-input=false"}, vars...)...)
	var after map[string][]string
	if err := json.Unmarshal([]byte(run.must("output", "-json", "after_revocation")), &after); err != nil {
		t.Fatal(err)
	}
	events := strings.Join(after[leaked.ID], "\n")
	expectContains(t, events, "token.revoked", "(request "+reqID+")", "auth.failed")
}

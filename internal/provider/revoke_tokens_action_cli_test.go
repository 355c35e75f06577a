package provider_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// jsonMessage is one line of the CLI's -json output.
type jsonMessage struct {
	Level   string `json:"@level"`
	Message string `json:"@message"`
	Type    string `json:"type"`
	Hook    struct {
		Action struct {
			Addr string `json:"addr"`
		} `json:"action"`
		Message string `json:"message"`
	} `json:"hook"`
	Diagnostic struct {
		Severity string `json:"severity"`
		Summary  string `json:"summary"`
		Detail   string `json:"detail"`
	} `json:"diagnostic"`
}

func parseJSONLines(t *testing.T, out string) []jsonMessage {
	t.Helper()
	var msgs []jsonMessage
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var m jsonMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("parsing %q: %v", line, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// `terraform apply -invoke` runs the action on its own, as in a leak
// response: the -json stream reports each revocation and a summary whose
// request IDs are the audit log's, then action_complete; the API shows the
// tokens revoked. A token ID found nowhere fails the invocation before
// anything is revoked.
func TestAccRevokeTokensAction_invokeCLI(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	skipUnlessQuery(t)
	leakFleet := api.createToken(api.FleetID(), "leak-fleet", nil)
	leakPersonal := api.createToken("", "leak-personal", nil)
	already := api.createToken(api.FleetID(), "leak-earlier", nil)
	if err := api.admin.RevokeToken(t.Context(), api.FleetID(), already.ID); err != nil {
		t.Fatal(err)
	}
	keep := api.createToken(api.FleetID(), "keep", nil)
	earlierID, err := api.revokedBy(already, api.adminTokenID(t))
	if err != nil {
		t.Fatal(err)
	}
	run := newCLIRun(t, api, map[string]string{
		"main.tf": `
provider "cmdop" {}

resource "cmdop_fleet_token" "managed" {
  name   = "leak-managed"
  scopes = ["machines:read"]
}

action "cmdop_revoke_tokens" "leak" {
  config {
    name_prefix = "leak-"
  }
}

action "cmdop_revoke_tokens" "missing" {
  config {
    token_ids = ["00000000-0000-4000-8000-000000000000"]
  }
}
`,
	})
	run.must("apply", "-auto-approve", "-input=false", "-no-color")
	out := run.must("apply", "-invoke=action.cmdop_revoke_tokens.leak", "-json", "-auto-approve", "-input=false")
	msgs := parseJSONLines(t, out)
	var progress []string
	complete := false
	for _, m := range msgs {
		switch m.Type {
		case "action_progress":
			if m.Hook.Action.Addr != "action.cmdop_revoke_tokens.leak" {
				t.Fatalf("progress from %q", m.Hook.Action.Addr)
			}
			progress = append(progress, m.Hook.Message)
		case "action_complete":
			complete = m.Hook.Action.Addr == "action.cmdop_revoke_tokens.leak"
		case "diagnostic":
			if m.Diagnostic.Severity == "error" {
				t.Fatalf("the invocation reported an error: %s: %s", m.Diagnostic.Summary, m.Diagnostic.Detail)
			}
		}
	}
	if !complete {
		t.Fatalf("no action_complete for action.cmdop_revoke_tokens.leak:\n%s", out)
	}
	if err := api.expectStatus(map[*cmdopapi.Token]string{
		leakFleet: cmdopapi.StatusRevoked, leakPersonal: cmdopapi.StatusRevoked, keep: cmdopapi.StatusActive,
	}); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(progress, "\n")
	t.Logf("the action reported:\n%s", all)
	for _, tok := range []*cmdopapi.Token{leakFleet, leakPersonal} {
		reqID, err := api.revokedBy(tok, api.adminTokenID(t))
		if err != nil {
			t.Fatal(err)
		}
		// One progress message for the revocation, and the summary, carry
		// the audit log's request ID.
		if n := strings.Count(all, reqID); n != 2 {
			t.Fatalf("the progress names the request ID %s of %q %d times, want 2:\n%s", reqID, tok.Name, n, all)
		}
	}
	expectContains(t, all, "4 token(s) selected", "Already revoked: fleet token \"leak-earlier\"", earlierID,
		"Revoked fleet token \"leak-managed\"", "summary: revoked 3, already revoked 1, failed 0.")
	if cmdopapi.SecretPattern.MatchString(out) {
		t.Fatal("the -json output holds a secret")
	}

	// The managed token the action revoked: the next plan replaces it, and says why.
	out = run.must("plan", "-no-color", "-input=false")
	expectContains(t, out, "The fleet token \"leak-managed\"", "is revoked and will be replaced", "must be replaced",
		"Plan: 1 to add, 0 to change, 1 to destroy.")

	out, err = run.run("apply", "-invoke=action.cmdop_revoke_tokens.missing", "-no-color", "-auto-approve", "-input=false")
	if err == nil {
		t.Fatalf("invoking the action on an unknown token ID succeeded:\n%s", out)
	}
	expectContains(t, out, "No token matched the cmdop_revoke_tokens selection", "revoked nothing",
		"- token_ids: 00000000-0000-4000-8000-000000000000")
}

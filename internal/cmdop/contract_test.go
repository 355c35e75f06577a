package cmdop_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal/localtest"
)

// A server that answers 200 with the same JSON body to every path (a
// proxy, a health endpoint, a gateway) is never taken for the CMDOP API:
// every call fails with ErrNotCMDOPAPI, and no answer reaches the caller.
func TestClient_serverThatSays200ToEverything(t *testing.T) {
	t.Parallel()
	const (
		asked = "5f0c3c52-8f51-4d5e-9d4c-0f6b1b0c2a11"
		other = "0d5e1f2a-3b4c-4d5e-8f60-718293a4b5c6"
	)
	plausible := `{"id":"` + other + `","fleet_id":"f1","name":"ci","key_prefix":"cmdop_abcdef","scopes":["machines:read"],` +
		`"created_at":"2026-01-01T00:00:00Z","status":"active"}`
	personal := `{"id":"` + other + `","user_id":"u1","name":"ci","key_prefix":"cmdop_abcdef","scopes":["machines:read"],` +
		`"created_at":"2026-01-01T00:00:00Z","status":"active"}`
	secret := "cmdop_" + strings.Repeat("S", 40)
	for name, body := range map[string]string{
		"empty object":               `{}`,
		"another fleet token":        plausible,
		"a personal token":           personal,
		"a token with a bad prefix":  strings.Replace(plausible, "cmdop_abcdef", "nope", 1),
		"a token with a secret":      strings.Replace(plausible, `"status"`, `"raw_token":"`+secret+`","status"`, 1),
		"an error envelope with 200": `{"error":{"code":"not_found","reason":"token_not_found","message":"x"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			calls := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				calls++
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(body))
			}))
			defer srv.Close()
			c, err := cmdop.New(cmdop.Config{BaseURL: srv.URL, Token: "cmdop_" + strings.Repeat("x", 32), MaxRetries: -1})
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			check := func(op string, err error) {
				t.Helper()
				if !errors.Is(err, cmdop.ErrNotCMDOPAPI) {
					t.Errorf("%s: got %v, want ErrNotCMDOPAPI", op, err)
					return
				}
				if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), body) && len(body) > 2 {
					t.Errorf("%s: the error quotes the body: %v", op, err)
				}
				if errors.Is(err, cmdop.ErrTokenNotFound) {
					t.Errorf("%s: a contract error must never read as token_not_found", op)
				}
			}
			_, err = c.Account(ctx)
			check("who-am-I", err)
			_, err = c.GetToken(ctx, "f1", asked)
			check("read fleet token", err)
			_, err = c.GetToken(ctx, "", asked)
			check("read personal token", err)
			_, err = c.CreateToken(ctx, "f1", cmdopapi.CreateTokenRequest{Name: "ci", Scopes: []string{"machines:read"}}, "")
			check("create", err)
			check("revoke", c.RevokeToken(ctx, "f1", asked))
			_, err = c.ListAllTokens(ctx, "f1")
			check("list", err)
			if calls != 6 {
				t.Errorf("the server saw %d calls, want 6 (none retried)", calls)
			}
		})
	}
}

// The designed lookup finds the token that a create with a key issued,
// through cmdop-local and the contract checker, and creates nothing.
func TestClient_findTokenByIdempotencyKey(t *testing.T) {
	t.Parallel()
	api := localtest.Start(t, cmdoplocal.Options{})
	ctx := t.Context()
	in := cmdopapi.CreateTokenRequest{Name: "ci", Scopes: []string{"machines:read"}}
	for _, fleet := range []string{api.FleetID, ""} {
		created, err := api.Admin.CreateToken(ctx, fleet, in, "key-"+fleet)
		if err != nil {
			t.Fatal(err)
		}
		writes := api.Server.Stats().Writes
		found, err := api.Admin.FindTokenByIdempotencyKey(ctx, fleet, "key-"+fleet)
		if err != nil || found.ID != created.ID || found.RawToken != "" {
			t.Fatalf("collection %q: found %+v, %v; want %s without its secret", fleet, found, err, created.ID)
		}
		if _, err := api.Admin.FindTokenByIdempotencyKey(ctx, fleet, "never-used"); !errors.Is(err, cmdop.ErrTokenNotFound) {
			t.Fatalf("an unused key: %v, want ErrTokenNotFound", err)
		}
		if w := api.Server.Stats().Writes - writes; w != 0 {
			t.Fatalf("the lookups made %d writes", w)
		}
	}
}

package cmdoplocal_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
)

// The designed lookup finds the token of the caller's create with a key,
// without its secret, and creates nothing; another caller's key, another
// collection, an unused key or an expired one is token_not_found.
func TestFindTokenByIdempotencyKey(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{})
	body := `{"name":"ci","scopes":["machines:read"]}`
	created := e.do("POST", fleetPath(e.fleet), e.admin, body, "Idempotency-Key", "k1").expect(t, 201, "").token(t)
	writes := e.srv.Stats().Writes
	byKey := func(key string) string { return fleetPath(e.fleet) + "/by-idempotency-key/" + key }

	r := e.do("GET", byKey("k1"), e.admin, nil).expect(t, 200, "")
	found := r.token(t)
	mustf(t, found.ID == created.ID && found.RawToken == "" && !strings.Contains(string(r.body), created.RawToken),
		"found %s (secret %t), want %s without its secret", found.ID, found.RawToken != "", created.ID)
	mustf(t, fleetTotal(e) == 1 && e.srv.Stats().Writes == writes, "the lookup created or wrote something")

	r = e.do("GET", byKey("k2"), e.admin, nil).expect(t, 404, cmdopapi.CodeNotFound)
	mustf(t, r.errBody(t).Reason == cmdopapi.ReasonTokenNotFound, "an unused key: %s", r.body)
	e.do("GET", "/api/account/api-tokens/by-idempotency-key/k1", e.admin, nil).expect(t, 404, cmdopapi.CodeNotFound)
	mgr := e.createFleetToken("manager", "permissions:manage", "machines:read")
	e.do("GET", byKey("k1"), mgr.RawToken, nil).expect(t, 404, cmdopapi.CodeNotFound) // keys are per caller

	advance(t, e.srv, 10*time.Minute)
	r = e.do("GET", byKey("k1"), e.admin, nil).expect(t, 404, cmdopapi.CodeNotFound)
	mustf(t, r.errBody(t).Reason == cmdopapi.ReasonTokenNotFound, "an expired key: %s", r.body)

	// Personal tokens too.
	p := e.do("POST", "/api/account/api-tokens", e.admin, body, "Idempotency-Key", "p1").expect(t, 201, "").token(t)
	got := e.do("GET", "/api/account/api-tokens/by-idempotency-key/p1", e.admin, nil).expect(t, 200, "").token(t)
	mustf(t, got.ID == p.ID && got.UserID != "", "personal lookup found %s, want %s", got.ID, p.ID)
}

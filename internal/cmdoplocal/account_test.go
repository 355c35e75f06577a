package cmdoplocal_test

import (
	"net/http"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
)

func TestAccount_anyValidTokenReadsItself(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{})
	tok := e.createFleetToken("reader", "machines:read")
	var acct cmdopapi.Account
	e.do(http.MethodGet, "/api/account", tok.RawToken, nil).expect(t, 200, "").json(t, &acct)
	if acct.TokenID != tok.ID || acct.FleetID != e.fleet || acct.TokenType != cmdopapi.TokenTypeFleet {
		t.Fatalf("account = %+v", acct)
	}
	e.do(http.MethodGet, "/api/account", "", nil).expect(t, 401, cmdopapi.CodeAuth)
}

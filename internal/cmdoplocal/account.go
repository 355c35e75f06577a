package cmdoplocal

import (
	"net/http"
	"slices"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// getAccount is the who-am-I call: any valid token may read who it is.
func (s *Server) getAccount(w http.ResponseWriter, c *call) {
	t := c.caller
	acct := cmdopapi.Account{
		TokenID:   t.ID,
		TokenType: cmdopapi.TokenTypeFleet,
		FleetID:   t.FleetID,
		KeyPrefix: t.KeyPrefix,
		Scopes:    slices.Clone(t.Scopes),
		ExpiresAt: cloneTime(t.ExpiresAt),
	}
	if t.isPersonal() {
		acct.TokenType, acct.UserID = cmdopapi.TokenTypePersonal, t.UserID
	}
	writeJSON(w, http.StatusOK, acct)
}

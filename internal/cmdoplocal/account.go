package cmdoplocal

import (
	"net/http"
	"slices"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
)

// getAccount is the who-am-I call: any valid token may read who it is.
func (s *Server) getAccount(w http.ResponseWriter, c *call) {
	t := c.caller
	acct := cmdop.Account{
		TokenID:   t.ID,
		TokenType: cmdop.TokenTypeFleet,
		FleetID:   t.FleetID,
		KeyPrefix: t.KeyPrefix,
		Scopes:    slices.Clone(t.Scopes),
		ExpiresAt: cloneTime(t.ExpiresAt),
	}
	if t.isPersonal() {
		acct.TokenType, acct.UserID = cmdop.TokenTypePersonal, t.UserID
	}
	writeJSON(w, http.StatusOK, acct)
}

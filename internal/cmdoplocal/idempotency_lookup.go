package cmdoplocal

import (
	"net/http"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// findByIdempotencyKey serves the designed lookup (x-designed in
// openapi.yaml): the token that the caller's create with this
// Idempotency-Key issued in this collection, without its secret. It
// creates nothing. A key the store does not remember, or whose token is in
// another collection, is token_not_found.
func (s *Server) findByIdempotencyKey(w http.ResponseWriter, c *call, col *collection) {
	key := c.params["idempotency_key"]
	t := s.tokenOfIdempotencyKey(c, key)
	if t == nil || !col.contains(t) {
		writeError(w, errNotFound(cmdopapi.ReasonTokenNotFound,
			"No %s was created here by this token with Idempotency-Key %q in the last %s.", col.kind, key, idempotencyWindow))
		return
	}
	writeJSON(w, http.StatusOK, t.wire(c.now))
}

// tokenOfIdempotencyKey is the token of the caller's live idempotency
// record for key, through the store's own lookup (which also expires old
// records); nil when there is none.
func (s *Server) tokenOfIdempotencyKey(c *call, key string) *tokenRecord {
	if !validIdempotencyKey(key) {
		return nil
	}
	rec := s.st.lookupIdem(c.now, c.caller.ID, key)
	if rec == nil {
		return nil
	}
	return s.st.tokens[rec.TokenID]
}

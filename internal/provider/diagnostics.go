package provider

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
)

// apiErrorDiag turns a client error into a diagnostic whose summary names
// the operation and the object, and whose detail says what happened, what
// to do, and quotes the API's message and request ID. Client errors never
// carry a secret (the client redacts anything token-shaped).
func apiErrorDiag(op, what string, err error) diag.Diagnostic {
	summary := fmt.Sprintf("Error %s %s", op, what)
	apiErr, ok := cmdop.AsError(err)
	if !ok {
		return diag.NewErrorDiagnostic(summary, fmt.Sprintf(
			"The CMDOP API could not be reached, or did not answer in time, while %s the %s, even after retrying. "+
				"Check api_base_url and the network, then run the command again; raise max_retries or the timeouts if the API is slow.\n\n"+
				"Cause: %s", op, what, cmdop.Redact(err.Error())))
	}
	var todo string
	switch {
	case errors.Is(err, cmdop.ErrAuth):
		todo = "The CMDOP API rejected the provider's own token (HTTP 401): it was probably revoked or has expired. " +
			"Supply a valid token through the provider's token argument or the CMDOP_TOKEN environment variable, then run the command again."
	case errors.Is(err, cmdop.ErrPermission):
		todo = "The provider's token is not allowed to do this."
		if missing := apiErr.MissingScopes(); len(missing) > 0 {
			todo += fmt.Sprintf(" It lacks the scope(s) %s. Use a provider token that holds them, or ask for fewer scopes.", strings.Join(missing, ", "))
		} else {
			todo += " Use a personal token of a fleet owner or admin, or a fleet token of this fleet holding permissions:manage."
		}
	case errors.Is(err, cmdop.ErrValidation):
		todo = "The CMDOP API rejected the request as invalid. Correct the configuration as the message says."
	case errors.Is(err, cmdop.ErrNotFound):
		todo = "The CMDOP API does not know this object. Check the fleet and token IDs."
	case errors.Is(err, cmdop.ErrConflict):
		todo = "The request conflicts with the token's current state."
	case errors.Is(err, cmdop.ErrRateLimit):
		todo = "The CMDOP API kept rate limiting the provider after all retries. Run the command again later, lower -parallelism, or raise max_retries."
	default:
		todo = "The CMDOP API failed, even after retrying. Run the command again later; if it persists, report the request ID to CMDOP support."
	}
	return diag.NewErrorDiagnostic(summary, fmt.Sprintf("%s\n\nAPI error (HTTP %d, code %s): %s\nRequest ID: %s",
		todo, apiErr.StatusCode, apiErr.Code, apiErr.Message, orNone(apiErr.RequestID)))
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

package provider

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// apiTarget is where a call went: the API base URL and the fleet, when
// known, so that an error can name what to check.
type apiTarget struct {
	baseURL, fleet string
	// keyPrefix and tokenSource name the provider's own token, for a 401.
	keyPrefix, tokenSource string
}

// apiError is apiErrorDiag naming this provider's API, token and the fleet.
func (d *providerData) apiError(op, what, fleet string, err error) diag.Diagnostic {
	return apiErrorDiag(op, what, apiTarget{baseURL: d.baseURL, fleet: fleet, keyPrefix: d.keyPrefix, tokenSource: d.tokenSource}, err)
}

// Summaries of the diagnostics that are about the provider's setup, not
// about the object: the same whichever operation met them.
const (
	summaryTokenRejected = "The CMDOP API rejected the provider's token"
	summaryNotCMDOPAPI   = "The API base URL does not answer like the CMDOP API"
)

// apiErrorDiag turns a client error into a diagnostic whose summary names
// the operation and the object, and whose detail says what happened, what
// to do (naming the API and fleet of at), and quotes the API's message and
// request ID. Client errors never carry a secret (the client redacts
// anything token-shaped).
func apiErrorDiag(op, what string, at apiTarget, err error) diag.Diagnostic {
	summary := fmt.Sprintf("Error %s %s", op, what)
	api := "the CMDOP API"
	if at.baseURL != "" {
		api = "the CMDOP API at " + at.baseURL
	}
	if ce, ok := cmdop.AsContractError(err); ok {
		return diag.NewErrorDiagnostic(summaryNotCMDOPAPI, fmt.Sprintf(
			"While %s the %s, %s answered something that the CMDOP API never answers, so nothing it said was used and the "+
				"Terraform state is unchanged. It is probably not the CMDOP API: a proxy, a gateway or a health endpoint. "+
				"Check api_base_url (or CMDOP_API_BASE_URL): it must be the API's root, such as https://api.cmdop.com.\n\n"+
				"Cause: %s", op, what, api, cmdopapi.Redact(ce.Error())))
	}
	apiErr, ok := cmdop.AsError(err)
	if !ok {
		return diag.NewErrorDiagnostic(summary, fmt.Sprintf(
			"%s could not be reached, or did not answer in time, while %s the %s, even after retrying. "+
				"Check api_base_url (or CMDOP_API_BASE_URL) and the network, then run the command again; raise max_retries or the timeouts "+
				"if the API is slow. Nothing was removed from the state.\n\nCause: %s", upperFirst(api), op, what, cmdopapi.Redact(err.Error())))
	}
	var todo string
	switch {
	case errors.Is(err, cmdop.ErrAuth):
		// The provider's own credential, not the object: never a fleet error.
		token := "the provider's token"
		if at.keyPrefix != "" {
			token = fmt.Sprintf("the provider's token %s…", at.keyPrefix)
		}
		if at.tokenSource != "" {
			token += " (from " + at.tokenSource + ")"
		}
		return diag.NewErrorDiagnostic(summaryTokenRejected, fmt.Sprintf(
			"While %s the %s, %s rejected %s with HTTP 401: the token has expired, was revoked, or is unknown to this API. "+
				"Nothing was changed, and the state is unchanged. Supply a valid token through the provider's token argument or the "+
				"CMDOP_TOKEN environment variable (and check that api_base_url is the API that issued it), then run the command again."+
				"\n\nAPI error (HTTP %d, code %s): %s\nRequest ID: %s",
			op, what, api, token, apiErr.StatusCode, apiErr.Code, apiErr.Message, orNone(apiErr.RequestID)))
	case errors.Is(err, cmdop.ErrPermission):
		todo = "The provider's token is not allowed to do this."
		missing := apiErr.MissingScopes()
		_, byOperation := apiErr.Details["operation"] // the operation's own x-required-scopes, not the new token's
		switch {
		case apiErr.Details["required_token_type"] == "personal":
			todo += " Personal tokens can be listed, issued and revoked only with a personal token: configure the provider with " +
				"a personal token (the token argument or CMDOP_TOKEN), not a fleet token."
		case len(missing) > 0 && byOperation:
			todo += fmt.Sprintf(" It lacks the scope(s) %s, which this operation needs whatever the token's owner may do. Use a provider token that holds them.", strings.Join(missing, ", "))
		case len(missing) > 0:
			todo += fmt.Sprintf(" It lacks the scope(s) %s. Use a provider token that holds them, or ask for fewer scopes.", strings.Join(missing, ", "))
		default:
			todo += " Use a personal token of a fleet owner or admin, or a fleet token of this fleet, holding permissions:manage."
		}
	case errors.Is(err, cmdop.ErrValidation):
		todo = "The CMDOP API rejected the request as invalid. Correct the configuration as the message says."
	case errors.Is(err, cmdop.ErrNotFound):
		todo = notFoundTodo(api, at, apiErr.Reason)
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

// notFoundTodo explains a 404 by its reason. Only token_not_found means a
// token is gone; every other 404 is a setting to check, and keeps state.
func notFoundTodo(api string, at apiTarget, reason string) string {
	fleet := "the fleet"
	if at.fleet != "" {
		fleet = "fleet " + strconv.Quote(at.fleet)
	}
	switch reason {
	case cmdopapi.ReasonTokenNotFound:
		return upperFirst(api) + " has no token with this ID here. Check the token ID" + ifFleet(at, " and fleet_id") + "."
	case cmdopapi.ReasonFleetNotFound:
		return fmt.Sprintf("%s does not have %s, or the provider's token cannot see it. Check fleet_id (or the provider's fleet_id and "+
			"CMDOP_FLEET_ID) for a typo, and that api_base_url points at the API that holds the fleet. Nothing was removed from the "+
			"state. If the fleet was deleted, its tokens went with it: remove them from the state with terraform state rm <address>.", upperFirst(api), fleet)
	case cmdopapi.ReasonRouteNotFound:
		return upperFirst(api) + " has no such route, so api_base_url (or CMDOP_API_BASE_URL) does not point at the CMDOP API's root: " +
			"use the scheme and host only, such as https://api.cmdop.com, without /api or a version path. Nothing was removed from the state."
	case cmdopapi.ReasonUserNotFound:
		return upperFirst(api) + " does not know the user. Check the user ID. Nothing was removed from the state."
	default:
		return upperFirst(api) + " answered 404 without saying what is missing. Check api_base_url, fleet_id and the token ID. " +
			"Nothing was removed from the state."
	}
}

func ifFleet(at apiTarget, s string) string {
	if at.fleet == "" {
		return ""
	}
	return s
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

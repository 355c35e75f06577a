package provider

// Attribute validators and description helpers shared by every schema:
// the token resources, the ephemeral tokens, the listings and the action.

import (
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/validators"
)

func nameValidators() []validator.String {
	return []validator.String{stringvalidator.LengthBetween(1, 100), validators.NotBlank()}
}

func scopesValidators() []validator.Set {
	return []validator.Set{
		setvalidator.SizeAtLeast(1),
		setvalidator.NoNullValues(),
		setvalidator.ValueStringsAre(stringvalidator.OneOf(cmdopapi.Scopes...)),
	}
}

func fleetIDValidators() []validator.String {
	return []validator.String{stringvalidator.RegexMatches(cmdopapi.FleetIDPattern,
		"must be a fleet ID (1 to 128 printable ASCII characters without spaces or slashes), such as the CMDOP_FLEET_ID that cmdop-local prints")}
}

// joinCode joins names for a Markdown description: a`, `b.
func joinCode(names []string) string { return strings.Join(names, "`, `") }

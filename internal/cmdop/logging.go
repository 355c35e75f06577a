package cmdop

import (
	"context"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// secretFieldKeys are log field keys whose values are always masked.
var secretFieldKeys = []string{"authorization", "Authorization", "token", "secret", "raw_token", "api_key", "access_token", "refresh_token"}

// MaskSecrets returns ctx with terraform-plugin-log masking set up: values
// of secret-bearing field keys are masked, and anything shaped like a CMDOP
// token is masked in every message and field value.
func MaskSecrets(ctx context.Context) context.Context {
	ctx = tflog.MaskFieldValuesWithFieldKeys(ctx, secretFieldKeys...)
	ctx = tflog.MaskAllFieldValuesRegexes(ctx, cmdopapi.SecretPattern)
	return tflog.MaskMessageRegexes(ctx, cmdopapi.SecretPattern)
}

package validators

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// stringCheck adapts a check of one string value to a framework validator.
type stringCheck struct {
	description string
	summary     string
	check       func(string) error
}

func (v stringCheck) Description(context.Context) string         { return v.description }
func (v stringCheck) MarkdownDescription(context.Context) string { return v.description }

func (v stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := v.check(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, v.summary, fmt.Sprintf("%s: %s.", req.Path, err))
	}
}

// ValidExpiry validates the form of a token expiry.
func ValidExpiry() validator.String {
	return stringCheck{
		description: "value must be " + ExpiryForms,
		summary:     "Invalid token expiry",
		check:       func(s string) error { _, err := ParseExpiry(s); return err },
	}
}

// ValidDuration validates a duration such as "168h" or "7d".
func ValidDuration() validator.String {
	return stringCheck{
		description: `value must be a duration such as "168h", "30m" or "7d"`,
		summary:     "Invalid duration",
		check:       func(s string) error { _, err := ParseDuration(s); return err },
	}
}

// ValidBaseURL validates an API base URL.
func ValidBaseURL() validator.String {
	return stringCheck{
		description: "value must be an https URL, or an http URL to a loopback host",
		summary:     "Invalid API base URL",
		check:       CheckBaseURL,
	}
}

// ValidGracePeriod validates a revoke_grace_period: a duration of at most 7 days.
func ValidGracePeriod() validator.String {
	return stringCheck{
		description: `value must be a duration of at most 7 days, such as "1h" or "2d"`,
		summary:     "Invalid revoke grace period",
		check:       CheckGracePeriod,
	}
}

// NotBlank refuses a string that is empty or only whitespace.
func NotBlank() validator.String {
	return stringCheck{
		description: "value must not be blank",
		summary:     "Blank value",
		check: func(s string) error {
			if strings.TrimSpace(s) == "" {
				return fmt.Errorf("%q is blank: give it a descriptive value, such as \"ci-deploy\"", s)
			}
			return nil
		},
	}
}

package provider

// Conversions between API values and framework values, shared by the
// resources, data sources, list resources and the action.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// timePtrValue is a nullable API time as an RFC3339 value.
func timePtrValue(t *time.Time) timetypes.RFC3339 {
	if t == nil {
		return timetypes.NewRFC3339Null()
	}
	return timeValue(*t)
}

// timeValue keeps the API's full precision.
func timeValue(t time.Time) timetypes.RFC3339 {
	return timetypes.NewRFC3339ValueMust(t.UTC().Format(time.RFC3339Nano))
}

// hashOf is a stable ID for a set of filters.
func hashOf(v ...any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

func isKnown(v knowable) bool { return !v.IsNull() && !v.IsUnknown() }

func optString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

func timeOrZero(v timetypes.RFC3339, diags *diag.Diagnostics) time.Time {
	if !isKnown(v) {
		return time.Time{}
	}
	t, d := v.ValueRFC3339Time()
	diags.Append(d...)
	return t
}

// firstSet returns the configured value, or else the first non-empty
// environment variable.
func firstSet(v types.String, envs ...string) string {
	if !v.IsNull() && !v.IsUnknown() {
		return v.ValueString()
	}
	for _, env := range envs {
		if s := os.Getenv(env); s != "" {
			return s
		}
	}
	return ""
}

// knowable is any framework value: null, unknown or known.
type knowable interface {
	IsNull() bool
	IsUnknown() bool
}

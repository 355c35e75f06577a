package provider

import (
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// The token filters shared by the listing data sources (cmdop_fleet_tokens,
// cmdop_personal_tokens), the list resources (terraform query) and the
// cmdop_revoke_tokens action. The API filters nothing itself: every listing
// reads the collection and keeps what tokenFilter.matches.

// tokenFilterModel holds the filter arguments of a listing's configuration.
type tokenFilterModel struct {
	Status        types.String      `tfsdk:"status"`
	NamePrefix    types.String      `tfsdk:"name_prefix"`
	UnusedSince   timetypes.RFC3339 `tfsdk:"unused_since"`
	CreatedBefore timetypes.RFC3339 `tfsdk:"created_before"`
	CreatedAfter  timetypes.RFC3339 `tfsdk:"created_after"`
}

// tokenFilterAttrs builds the schema attributes of tokenFilterModel for one
// schema package: str makes an optional string attribute, ts an optional
// RFC3339 one.
func tokenFilterAttrs[A any](str func(desc string, v ...validator.String) A, ts func(desc string) A) map[string]A {
	return map[string]A{
		"status": str("Only tokens with this status: `active`, `expired` or `revoked`.",
			stringvalidator.OneOf(cmdopapi.StatusActive, cmdopapi.StatusExpired, cmdopapi.StatusRevoked)),
		"name_prefix":    str("Only tokens whose name starts with this."),
		"unused_since":   ts("Only tokens not used since this time (RFC3339): last used before it, or never used. Finds stale tokens."),
		"created_before": ts("Only tokens issued before this time (RFC3339)."),
		"created_after":  ts("Only tokens issued at or after this time (RFC3339)."),
	}
}

// tokenFilter is a compiled filter; zero fields don't filter.
type tokenFilter struct {
	IDs           map[string]bool // token IDs, lower case
	Status        string
	NamePrefix    string
	UnusedSince   time.Time // last used before it, or never
	UsedSince     time.Time // last used at or after it
	CreatedBefore time.Time
	CreatedAfter  time.Time // at or after
}

// filter compiles the model; unknown values don't filter.
func (m *tokenFilterModel) filter(diags *diag.Diagnostics) tokenFilter {
	return tokenFilter{
		Status:        m.Status.ValueString(),
		NamePrefix:    m.NamePrefix.ValueString(),
		UnusedSince:   timeOrZero(m.UnusedSince, diags),
		CreatedBefore: timeOrZero(m.CreatedBefore, diags),
		CreatedAfter:  timeOrZero(m.CreatedAfter, diags),
	}
}

// hashKey lists the filter's values for a listing's stable ID. The
// creation bounds join only when set, so that the IDs of listings that set
// neither stay what they were before those filters existed.
func (f tokenFilter) hashKey() []any {
	key := []any{f.Status, f.NamePrefix, f.UnusedSince}
	if !f.CreatedBefore.IsZero() || !f.CreatedAfter.IsZero() {
		key = append(key, f.CreatedBefore, f.CreatedAfter)
	}
	return key
}

func (f tokenFilter) matches(t *cmdopapi.Token) bool {
	switch {
	case f.IDs != nil && !f.IDs[strings.ToLower(t.ID)]:
		return false
	case f.Status != "" && t.Status != f.Status:
		return false
	case !strings.HasPrefix(t.Name, f.NamePrefix):
		return false
	case !f.UnusedSince.IsZero() && t.LastUsedAt != nil && !t.LastUsedAt.Before(f.UnusedSince):
		return false
	case !f.UsedSince.IsZero() && (t.LastUsedAt == nil || t.LastUsedAt.Before(f.UsedSince)):
		return false
	case !f.CreatedBefore.IsZero() && !t.CreatedAt.Before(f.CreatedBefore):
		return false
	case !f.CreatedAfter.IsZero() && t.CreatedAt.Before(f.CreatedAfter):
		return false
	}
	return true
}

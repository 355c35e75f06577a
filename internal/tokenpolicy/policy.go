// Package tokenpolicy holds the token policy that the provider enforces at
// plan: its rules, where each came from (the provider's token_policy block
// or a platform team's JSON file), the stricter-wins merge of the two, and
// the check of a token against the merged rules. It knows nothing of
// Terraform: the provider turns its violations into diagnostics.
package tokenpolicy

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/validators"
)

// The token kinds a rule may be set for.
const (
	Fleet    = "fleet"
	Personal = "personal"
)

// Rule names, as the HCL block and the JSON file spell them.
const (
	RuleMaxExpiry       = "max_expiry"
	RuleRequireRotation = "require_rotation"
	RuleAllowedScopes   = "allowed_scopes"
	RuleForbiddenScopes = "forbidden_scopes"
	RuleNamePattern     = "name_pattern"
	RuleMaxGracePeriod  = "max_grace_period"
	RuleMaxEphemeralTTL = "max_ephemeral_ttl"
)

// RuleNames lists every rule, in the order the documentation gives them.
var RuleNames = []string{
	RuleMaxExpiry, RuleRequireRotation, RuleAllowedScopes, RuleForbiddenScopes,
	RuleNamePattern, RuleMaxGracePeriod, RuleMaxEphemeralTTL,
}

// minEphemeralTTL is the shortest ttl an ephemeral token can have: a
// smaller max_ephemeral_ttl would refuse every ephemeral token.
const minEphemeralTTL = time.Hour

// minLifetime is the shortest lifetime a token can have (a custom expiry
// at least an hour ahead): a smaller max_expiry would refuse every token.
const minLifetime = validators.MinCustomExpiryLead

// RawRules is one level of a policy as written: nil means "not set".
type RawRules struct {
	MaxExpiry       *string
	RequireRotation *bool
	AllowedScopes   *[]string
	ForbiddenScopes *[]string
	NamePattern     *string
	MaxGracePeriod  *string
	MaxEphemeralTTL *string
}

// Raw is a policy as written: the top-level rules and the per-kind ones.
type Raw struct {
	RawRules
	Fleet, Personal *RawRules
}

// Origin says where a policy came from.
type Origin struct {
	// File is the policy file's path; "" for the provider's block.
	File string
}

// BlockOrigin is the provider's token_policy block.
var BlockOrigin = Origin{}

// FileOrigin is a policy file.
func FileOrigin(path string) Origin { return Origin{File: path} }

// Field names a rule's field at its source, such as
// `token_policy.fleet.max_expiry in the provider block` or
// `"fleet.max_expiry" in the token policy file p.json (CMDOP_TOKEN_POLICY_FILE)`.
func (o Origin) Field(field string) string {
	if o.File == "" {
		return "token_policy." + field + " in the provider block"
	}
	return strconv.Quote(field) + " in the token policy file " + o.File + " (" + EnvFile + ")"
}

// FieldError is a policy field that is not valid; Field is its dotted path
// below the policy's root, such as "fleet.max_expiry".
type FieldError struct {
	Field string
	Msg   string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Msg }

// Limit is a duration rule's value.
type Limit struct {
	Text string
	D    time.Duration
}

type rules struct {
	maxExpiry, maxGrace, maxTTL *Limit
	requireRotation             *bool
	allowed, forbidden          []string // nil: unset
	pattern                     *regexp.Regexp
}

// Policy is a parsed policy from one origin.
type Policy struct {
	Origin          Origin
	top             rules
	fleet, personal *rules
}

// Parse checks and compiles a policy written at origin. Every problem is
// returned, each naming its field.
func Parse(origin Origin, raw Raw) (*Policy, []FieldError) {
	var errs []FieldError
	p := &Policy{Origin: origin}
	p.top = parseRules("", raw.RawRules, &errs)
	if raw.Fleet != nil {
		r := parseRules(Fleet+".", *raw.Fleet, &errs)
		p.fleet = &r
	}
	if raw.Personal != nil {
		r := parseRules(Personal+".", *raw.Personal, &errs)
		p.personal = &r
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return p, nil
}

func parseRules(prefix string, raw RawRules, errs *[]FieldError) rules {
	var r rules
	bad := func(rule, format string, args ...any) {
		*errs = append(*errs, FieldError{Field: prefix + rule, Msg: fmt.Sprintf(format, args...)})
	}
	limit := func(rule string, s *string, least time.Duration, minText string) *Limit {
		if s == nil {
			return nil
		}
		d, err := ParseLimit(*s)
		switch {
		case err != nil:
			bad(rule, "%s", err)
			return nil
		case d < least:
			bad(rule, "%q leaves no token able to meet it: use at least %s", *s, minText)
			return nil
		}
		return &Limit{Text: *s, D: d}
	}
	r.maxExpiry = limit(RuleMaxExpiry, raw.MaxExpiry, minLifetime, `"1h", the shortest lifetime a token can have`)
	r.maxGrace = limit(RuleMaxGracePeriod, raw.MaxGracePeriod, 0, `"0s"`)
	r.maxTTL = limit(RuleMaxEphemeralTTL, raw.MaxEphemeralTTL, minEphemeralTTL, `"1h", the shortest ttl an ephemeral token can have`)
	r.requireRotation = raw.RequireRotation
	scopes := func(rule string, v *[]string) []string {
		if v == nil {
			return nil
		}
		out := []string{}
		for _, s := range *v {
			if !slices.Contains(cmdopapi.Scopes, s) {
				bad(rule, "%q is not a CMDOP scope (a typo must never weaken a policy): use one of %s", s, strings.Join(cmdopapi.Scopes, ", "))
				continue
			}
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		slices.Sort(out)
		return out
	}
	r.allowed = scopes(RuleAllowedScopes, raw.AllowedScopes)
	if raw.AllowedScopes != nil && len(*raw.AllowedScopes) == 0 {
		bad(RuleAllowedScopes, "is empty, so no token could be issued: list the scopes tokens may hold, or remove the rule")
	}
	r.forbidden = scopes(RuleForbiddenScopes, raw.ForbiddenScopes)
	if raw.NamePattern != nil {
		re, err := regexp.Compile(*raw.NamePattern)
		if err != nil {
			bad(RuleNamePattern, "%q is not a valid regular expression (RE2 syntax): %v", *raw.NamePattern, err)
		} else {
			r.pattern = re
		}
	}
	return r
}

// ParseLimit parses a duration rule: an expiry preset ("30d", "90d",
// "1y"), a number of days ("7d"), or a Go duration ("2160h", "90m").
// "never" is refused: a limit must limit.
func ParseLimit(s string) (time.Duration, error) {
	if s == validators.ExpiryNever {
		return 0, fmt.Errorf(`"never" is not a limit: use a duration such as "90d", "1y" or "2160h", or remove the rule`)
	}
	if days, ok := validators.ExpiryPresets[s]; ok {
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := validators.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf(`%q is not a duration: use an expiry preset or a day or hour form such as "30d", "1y" or "2160h"`, s)
	}
	return d, nil
}

// A sourced value: a rule's value and the field it came from.
type sourcedLimit struct {
	Limit
	source string
}

type sourcedScopes struct {
	scopes []string
	source string
}

type sourcedPattern struct {
	re     *regexp.Regexp
	source string
}

// Effective is the policy for one kind of token, after per-kind
// resolution and the stricter-wins merge of every origin.
type Effective struct {
	maxExpiry, maxGrace, maxTTL *sourcedLimit
	requireRotation             string // the field that requires it; "" when none does
	allowed                     []sourcedScopes
	forbidden                   []sourcedScopes
	patterns                    []sourcedPattern
}

// Empty reports whether no rule applies.
func (e *Effective) Empty() bool {
	return e == nil || (e.maxExpiry == nil && e.maxGrace == nil && e.maxTTL == nil && e.requireRotation == "" &&
		len(e.allowed) == 0 && len(e.forbidden) == 0 && len(e.patterns) == 0)
}

// Merge resolves each policy for kind (a per-kind value replaces the
// top-level one) and merges them, the stricter value of each rule winning:
// the smaller limits, the union of forbidden scopes and the intersection
// of allowed ones, every name pattern, and rotation if any requires it.
// Nil policies are skipped; on a tie the earlier policy is named.
func Merge(kind string, policies ...*Policy) *Effective {
	e := &Effective{}
	for _, p := range policies {
		if p == nil {
			continue
		}
		var over *rules
		switch kind {
		case Fleet:
			over = p.fleet
		case Personal:
			over = p.personal
		}
		// resolve picks the per-kind value when it is set, else the
		// top-level one, and names the field it came from.
		resolve := func(rule string, set func(*rules) bool) (*rules, string) {
			if over != nil && set(over) {
				return over, p.Origin.Field(kind + "." + rule)
			}
			return &p.top, p.Origin.Field(rule)
		}
		limit := func(dst **sourcedLimit, rule string, get func(*rules) *Limit) {
			r, src := resolve(rule, func(r *rules) bool { return get(r) != nil })
			if v := get(r); v != nil && (*dst == nil || v.D < (*dst).D) {
				*dst = &sourcedLimit{Limit: *v, source: src}
			}
		}
		limit(&e.maxExpiry, RuleMaxExpiry, func(r *rules) *Limit { return r.maxExpiry })
		limit(&e.maxGrace, RuleMaxGracePeriod, func(r *rules) *Limit { return r.maxGrace })
		limit(&e.maxTTL, RuleMaxEphemeralTTL, func(r *rules) *Limit { return r.maxTTL })

		r, src := resolve(RuleRequireRotation, func(r *rules) bool { return r.requireRotation != nil })
		if r.requireRotation != nil && *r.requireRotation && e.requireRotation == "" {
			e.requireRotation = src
		}

		scopes := func(dst *[]sourcedScopes, rule string, get func(*rules) []string) {
			r, src := resolve(rule, func(r *rules) bool { return get(r) != nil })
			if v := get(r); v != nil {
				*dst = append(*dst, sourcedScopes{scopes: v, source: src})
			}
		}
		scopes(&e.allowed, RuleAllowedScopes, func(r *rules) []string { return r.allowed })
		scopes(&e.forbidden, RuleForbiddenScopes, func(r *rules) []string { return r.forbidden })

		r, src = resolve(RuleNamePattern, func(r *rules) bool { return r.pattern != nil })
		if r.pattern != nil {
			e.patterns = append(e.patterns, sourcedPattern{re: r.pattern, source: src})
		}
	}
	return e
}

// AllowedScopes is the intersection of every allowed_scopes rule; ok is
// false when no such rule applies.
func (e *Effective) AllowedScopes() (scopes []string, ok bool) {
	if e == nil || len(e.allowed) == 0 {
		return nil, false
	}
	out := slices.Clone(e.allowed[0].scopes)
	for _, a := range e.allowed[1:] {
		out = slices.DeleteFunc(out, func(s string) bool { return !slices.Contains(a.scopes, s) })
	}
	return out, true
}

// Duration is a duration argument of a token, as configured and parsed.
type Duration struct {
	Text string
	D    time.Duration
}

// Lifetime is how long a token would live: Never, or D, with the expiry
// as configured (Text) and, for a date, how D was measured (Note).
type Lifetime struct {
	Never bool
	D     time.Duration
	Text  string
	Note  string // such as "by the API server's clock"
}

// Token is what a rule can judge of a token. A nil field is unknown (or,
// for an ephemeral token, does not apply) and is not judged.
type Token struct {
	Name        *string
	Scopes      []string // nil: unknown
	Lifetime    *Lifetime
	Rotation    *bool // rotate_before or rotation_triggers set
	GracePeriod *Duration
	TTL         *Duration
}

// Violation is one rule that a token breaks.
type Violation struct {
	Rule      string // such as "max_expiry"
	Source    string // the field that set the rule, and where
	Attribute string // the token's argument that breaks it
	Allowed   string // what the rule allows
	Got       string // what the token has
	Fix       string
}

// Detail is the violation in one sentence or two, for a diagnostic.
func (v Violation) Detail() string {
	return fmt.Sprintf("The token policy's %s rule (%s) allows %s, but %s is %s. %s",
		v.Rule, v.Source, v.Allowed, v.Attribute, v.Got, v.Fix)
}

// Check judges a token against the effective policy. Ephemeral tokens are
// judged only by max_ephemeral_ttl, the scope rules and name_pattern; the
// token resources by every rule but max_ephemeral_ttl.
func (e *Effective) Check(t Token, ephemeral bool) []Violation {
	if e.Empty() {
		return nil
	}
	var out []Violation
	if !ephemeral && e.maxExpiry != nil && t.Lifetime != nil {
		limit := e.maxExpiry
		if l := t.Lifetime; l.Never || l.D > limit.D {
			got := `"never"`
			if !l.Never {
				got = fmt.Sprintf("%q (%s%s)", l.Text, humanDuration(l.D), l.Note)
			}
			out = append(out, Violation{
				Rule: RuleMaxExpiry, Source: limit.source, Attribute: "expiry",
				Allowed: fmt.Sprintf("a lifetime of at most %q (%s)", limit.Text, humanDuration(limit.D)), Got: got,
				Fix: expiryFix(limit.D),
			})
		}
	}
	if !ephemeral && e.requireRotation != "" && t.Rotation != nil && !*t.Rotation {
		out = append(out, Violation{
			Rule: RuleRequireRotation, Source: e.requireRotation, Attribute: "rotate_before",
			Allowed: "only tokens that rotate: rotate_before or rotation_triggers must be set", Got: "unset, and so is rotation_triggers",
			Fix: `Set rotate_before (such as "7d", with a relative expiry) or rotation_triggers (such as { period = time_rotating.monthly.id }).`,
		})
	}
	if t.Scopes != nil {
		if allowed, ok := e.AllowedScopes(); ok {
			var extra []string
			for _, s := range t.Scopes {
				if !slices.Contains(allowed, s) {
					extra = append(extra, s)
				}
			}
			if len(extra) > 0 {
				var sources []string
				for _, a := range e.allowed {
					for _, s := range extra {
						if !slices.Contains(a.scopes, s) {
							sources = append(sources, a.source)
							break
						}
					}
				}
				allowedText := "no scope at all (the allowed_scopes rules have no scope in common)"
				if len(allowed) > 0 {
					allowedText = "only the scopes " + quoteList(allowed)
				}
				out = append(out, Violation{
					Rule: RuleAllowedScopes, Source: strings.Join(sources, "; "), Attribute: "scopes",
					Allowed: allowedText, Got: quoteList(t.Scopes),
					Fix: "Remove " + quoteList(extra) + " from scopes.",
				})
			}
		}
		for _, f := range e.forbidden {
			var hit []string
			for _, s := range t.Scopes {
				if slices.Contains(f.scopes, s) {
					hit = append(hit, s)
				}
			}
			if len(hit) > 0 {
				out = append(out, Violation{
					Rule: RuleForbiddenScopes, Source: f.source, Attribute: "scopes",
					Allowed: "any scope except " + quoteList(f.scopes), Got: quoteList(t.Scopes),
					Fix: "Remove " + quoteList(hit) + " from scopes.",
				})
			}
		}
	}
	if t.Name != nil {
		for _, p := range e.patterns {
			if !p.re.MatchString(*t.Name) {
				out = append(out, Violation{
					Rule: RuleNamePattern, Source: p.source, Attribute: "name",
					Allowed: "only names that match " + strconv.Quote(p.re.String()), Got: strconv.Quote(*t.Name),
					Fix: "Rename the token so that its name matches the pattern.",
				})
			}
		}
	}
	if !ephemeral && e.maxGrace != nil && t.GracePeriod != nil && t.GracePeriod.D > e.maxGrace.D {
		out = append(out, Violation{
			Rule: RuleMaxGracePeriod, Source: e.maxGrace.source, Attribute: "revoke_grace_period",
			Allowed: fmt.Sprintf("a grace period of at most %q", e.maxGrace.Text), Got: strconv.Quote(t.GracePeriod.Text),
			Fix: fmt.Sprintf("Set revoke_grace_period to %q or less.", e.maxGrace.Text),
		})
	}
	if ephemeral && e.maxTTL != nil && t.TTL != nil && t.TTL.D > e.maxTTL.D {
		out = append(out, Violation{
			Rule: RuleMaxEphemeralTTL, Source: e.maxTTL.source, Attribute: "ttl",
			Allowed: fmt.Sprintf("a ttl of at most %q", e.maxTTL.Text), Got: strconv.Quote(t.TTL.Text),
			Fix: fmt.Sprintf("Set ttl to %q or less.", e.maxTTL.Text),
		})
	}
	return out
}

// expiryFix suggests the longest expiry preset within a limit.
func expiryFix(limit time.Duration) string {
	best := ""
	for _, p := range []string{"30d", "90d", "1y"} {
		if time.Duration(validators.ExpiryPresets[p])*24*time.Hour <= limit {
			best = p
		}
	}
	if best == "" {
		return "Set expiry to an RFC3339 date no further ahead than the limit."
	}
	return fmt.Sprintf("Set expiry to %q or shorter, or to a date no further ahead than the limit.", best)
}

func humanDuration(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		n := d / (24 * time.Hour)
		if n == 1 {
			return "1 day"
		}
		return fmt.Sprintf("%d days", n)
	}
	if d >= 48*time.Hour {
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	}
	return d.Round(time.Second).String()
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

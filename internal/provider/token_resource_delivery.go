package provider

// secret_delivery: the secret of a new fleet or personal token goes straight
// to its consumer, a command's standard input or a file, and the state
// keeps only its SHA-256 and the time it was delivered. A secret that could
// not be delivered is revoked at once: nothing may stay live whose secret
// nobody holds.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/credentials"
	"github.com/cmdop/terraform-provider-cmdop/internal/validators"
)

// Delivery formats and defaults.
const (
	formatRaw    = "raw"
	formatDotenv = "dotenv"
	formatJSON   = "json"

	defaultDeliveryFormat  = formatRaw
	defaultDeliveryMode    = "0600"
	defaultDeliveryTimeout = time.Minute
	// outputTailLines is how much of a failed command's output the
	// diagnostic quotes.
	outputTailLines = 20
	// outputKeepBytes bounds the captured output.
	outputKeepBytes = 64 << 10
)

var deliveryFormats = []string{formatRaw, formatDotenv, formatJSON}

// deliveryModePattern is a permission mode in octal: "600" or "0600".
var deliveryModePattern = regexp.MustCompile(`^0?[0-7]{3}$`)

// envNamePattern is a portable environment variable name.
var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Environment variables the provider sets for the command; env may not set them.
const (
	envTokenID        = "CMDOP_TOKEN_ID"
	envTokenName      = "CMDOP_TOKEN_NAME"
	envTokenKeyPrefix = "CMDOP_TOKEN_KEY_PREFIX"
	envTokenFleetID   = "CMDOP_FLEET_ID"
	envTokenExpiresAt = "CMDOP_TOKEN_EXPIRES_AT"
)

var reservedDeliveryEnv = []string{envTokenID, envTokenName, envTokenKeyPrefix, envTokenFleetID, envTokenExpiresAt}

// removedDeliveryEnv are the provider's own credentials, which the command
// never sees.
var removedDeliveryEnv = []string{credentials.EnvToken, credentials.EnvAPIKey}

// deliveryModel is the secret_delivery block.
type deliveryModel struct {
	Command types.List   `tfsdk:"command"`
	File    types.String `tfsdk:"file"`
	Format  types.String `tfsdk:"format"`
	Mode    types.String `tfsdk:"mode"`
	Env     types.Map    `tfsdk:"env"`
	Timeout types.String `tfsdk:"timeout"`
}

var deliveryAttrTypes = map[string]attr.Type{
	"command": types.ListType{ElemType: types.StringType},
	"file":    types.StringType,
	"format":  types.StringType,
	"mode":    types.StringType,
	"env":     types.MapType{ElemType: types.StringType},
	"timeout": types.StringType,
}

// addDeliverySchema adds the secret_delivery block and the attributes that
// it fills in to a token resource's schema.
func addDeliverySchema(attrs map[string]schema.Attribute, blocks map[string]schema.Block) {
	attrs["secret_sha256"] = schema.StringAttribute{
		MarkdownDescription: "With `secret_delivery`: the hex SHA-256 of the delivered secret, so that a consumer can check " +
			"what it holds (`printf %s \"$TOKEN\" | sha256sum`). Null without `secret_delivery`.",
		Computed:      true,
		PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
	attrs["secret_delivered_at"] = schema.StringAttribute{
		MarkdownDescription: "With `secret_delivery`: when the secret was delivered (RFC3339), by the API server's clock " +
			"like the token's other timestamps. Null without `secret_delivery`.",
		Computed:      true,
		CustomType:    timetypes.RFC3339Type{},
		PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
	blocks["secret_delivery"] = schema.SingleNestedBlock{
		MarkdownDescription: "Deliver the new token's secret straight to its consumer instead of keeping it in state: " +
			"`secret` is then null in state, in the plan and in every output, and the state keeps only `secret_sha256` and " +
			"`secret_delivered_at`. Set exactly one sink, `command` or `file`. If delivery fails, the new token is revoked at " +
			"once and the apply fails, leaving nothing in state. Changing `command`, `file`, `format` or `mode`, adding the " +
			"block or removing it replaces the token (a secret cannot be delivered twice); changing `env` or `timeout` only " +
			"updates state. Use `create_before_destroy` so that a rotation delivers the new secret before the old token is revoked. " +
			"See the guide \"Keeping secrets out of state\".",
		Attributes: map[string]schema.Attribute{
			"command": schema.ListAttribute{
				MarkdownDescription: "The command sink: a program and its arguments, such as `[\"gh\", \"secret\", \"set\", \"CMDOP_TOKEN\"]`, " +
					"run once, without a shell and without retries. It gets the secret on standard input, followed by a newline, and " +
					"never in its arguments or environment. Its environment is the provider's, without `CMDOP_TOKEN` and " +
					"`CMDOP_API_KEY`, plus `env`, `CMDOP_TOKEN_ID`, `CMDOP_TOKEN_NAME`, `CMDOP_TOKEN_KEY_PREFIX`, `CMDOP_FLEET_ID` " +
					"(fleet tokens) and `CMDOP_TOKEN_EXPIRES_AT` (RFC3339, empty for a token that never expires). Exit status 0 " +
					"means delivered. The program must be found (on `PATH`, or by its path) when Terraform plans.",
				Optional:    true,
				ElementType: types.StringType,
			},
			"file": schema.StringAttribute{
				MarkdownDescription: "The file sink: a path, written atomically (a temporary file in the same directory, then a " +
					"rename), replacing any existing file. The directory must exist when Terraform plans. A relative path is " +
					"relative to the directory Terraform runs in.",
				Optional: true,
			},
			"format": schema.StringAttribute{
				MarkdownDescription: "With `file`: `raw` (the default: the secret alone, with no newline, so that the file's " +
					"SHA-256 is `secret_sha256`), `dotenv` (`CMDOP_TOKEN=<secret>`, unquoted, and a newline) or `json` (" +
					"`{\"token\", \"id\", \"key_prefix\", \"expires_at\"}`, where `expires_at` is null for a token that never expires).",
				Optional:   true,
				Validators: []validator.String{stringvalidator.OneOf(deliveryFormats...)},
			},
			"mode": schema.StringAttribute{
				MarkdownDescription: "With `file`: the file's permissions, as octal digits; default `\"" + defaultDeliveryMode + "\"`.",
				Optional:            true,
				Validators: []validator.String{stringvalidator.RegexMatches(deliveryModePattern,
					`must be a permission mode of octal digits, such as "0600" or "0640"`)},
			},
			"env": schema.MapAttribute{
				MarkdownDescription: "With `command`: environment variables added to the command's environment. They may not " +
					"set the variables the provider sets (`CMDOP_TOKEN_ID` and the others listed under `command`).",
				Optional:    true,
				ElementType: types.StringType,
			},
			"timeout": schema.StringAttribute{
				MarkdownDescription: "With `command`: how long the command may run before it is stopped and the delivery " +
					"fails, as a duration such as `\"30s\"` or `\"5m\"`; default `\"1m\"`.",
				Optional:   true,
				Validators: []validator.String{validators.ValidDuration()},
			},
		},
		PlanModifiers: []planmodifier.Object{objectplanmodifier.RequiresReplaceIf(deliverySinkChanged,
			"Replaces the token when the sink changes, or the block is added or removed: a secret cannot be delivered twice.",
			"Replaces the token when the sink changes, or the block is added or removed: a secret cannot be delivered twice.")},
	}
}

// deliverySinkChanged replaces the token unless only env or timeout changed.
func deliverySinkChanged(ctx context.Context, req planmodifier.ObjectRequest, resp *objectplanmodifier.RequiresReplaceIfFuncResponse) {
	if req.PlanValue.IsNull() != req.StateValue.IsNull() {
		resp.RequiresReplace = true // added or removed
		return
	}
	if req.PlanValue.IsUnknown() {
		resp.RequiresReplace = true
		return
	}
	var plan, state deliveryModel
	resp.Diagnostics.Append(req.PlanValue.As(ctx, &plan, objectAsOptions)...)
	resp.Diagnostics.Append(req.StateValue.As(ctx, &state, objectAsOptions)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.RequiresReplace = !plan.Command.Equal(state.Command) || !plan.File.Equal(state.File) ||
		plan.format() != state.format() || plan.mode() != state.mode() ||
		plan.Format.IsUnknown() || plan.Mode.IsUnknown()
}

var objectAsOptions = basetypes.ObjectAsOptions{}

// deliveryOf reads the secret_delivery block of a model; nil if it is
// absent (or unknown, ok false).
func deliveryOf(ctx context.Context, m *tokenResourceModel, diags *diag.Diagnostics) (d *deliveryModel, ok bool) {
	if m.SecretDelivery.IsUnknown() {
		return nil, false
	}
	if m.SecretDelivery.IsNull() {
		return nil, true
	}
	var v deliveryModel
	diags.Append(m.SecretDelivery.As(ctx, &v, objectAsOptions)...)
	if diags.HasError() {
		return nil, false
	}
	return &v, true
}

// normaliseDelivery gives a model that never had the block (a listed
// token, say) a null block of the schema's type, and settles the
// fingerprint of a state that no delivery filled in (a placeholder of a
// failed create, say): a state holds no unknown values.
func (m *tokenResourceModel) normaliseDelivery(dst setter) {
	if m.SecretDelivery.IsNull() && len(m.SecretDelivery.AttributeTypes(context.Background())) == 0 {
		m.SecretDelivery = types.ObjectNull(deliveryAttrTypes)
	}
	if _, ok := dst.(*tfsdk.State); ok {
		if m.SecretSHA256.IsUnknown() {
			m.SecretSHA256 = types.StringNull()
		}
		if m.SecretDeliveredAt.IsUnknown() {
			m.SecretDeliveredAt = timetypes.NewRFC3339Null()
		}
	}
}

func (d *deliveryModel) format() string {
	if d.Format.IsNull() || d.Format.IsUnknown() {
		return defaultDeliveryFormat
	}
	return d.Format.ValueString()
}

func (d *deliveryModel) mode() os.FileMode {
	s := defaultDeliveryMode
	if isKnown(d.Mode) {
		s = d.Mode.ValueString()
	}
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil {
		return 0o600
	}
	return os.FileMode(n) & os.ModePerm
}

func (d *deliveryModel) timeout() time.Duration {
	if !isKnown(d.Timeout) {
		return defaultDeliveryTimeout
	}
	t, err := validators.ParseDuration(d.Timeout.ValueString())
	if err != nil || t <= 0 {
		return defaultDeliveryTimeout
	}
	return t
}

// argv is the command, or nil when it is not fully known.
func (d *deliveryModel) argv(ctx context.Context) []string {
	if !isKnown(d.Command) {
		return nil
	}
	var out []string
	for _, e := range d.Command.Elements() {
		s, ok := e.(types.String)
		if !ok || !isKnown(s) {
			return nil
		}
		out = append(out, s.ValueString())
	}
	_ = ctx
	return out
}

// sink names the sink for diagnostics: "command sink (gh)" or "file sink (/path)".
func (d *deliveryModel) sink(ctx context.Context) string {
	if argv := d.argv(ctx); len(argv) > 0 {
		return fmt.Sprintf("command sink (%s)", argv[0])
	}
	return fmt.Sprintf("file sink (%s)", d.File.ValueString())
}

// validateDelivery checks the secret_delivery block: exactly one sink, and
// the arguments that belong to the other sink unset. Unknown values are
// skipped here, and checked again in ModifyPlan once they are known. With
// onDisk, it also checks what delivery needs on this machine: the command's
// program and the file's directory. That runs only when a token is about to
// be issued, so that a deleted directory never fails the plan of a token
// that has been delivered already.
func validateDelivery(ctx context.Context, d *deliveryModel, onDisk bool, diags *diag.Diagnostics) {
	if d == nil {
		return
	}
	p := path.Root("secret_delivery")
	if d.Command.IsUnknown() || d.File.IsUnknown() {
		return // which sink it is shows once both are known: ModifyPlan checks again, at apply if need be
	}
	hasCommand, hasFile := !d.Command.IsNull(), !d.File.IsNull()
	switch {
	case hasCommand && hasFile:
		diags.AddAttributeError(p, "secret_delivery needs exactly one sink",
			"secret_delivery sets both command and file, but a secret is delivered once, to one sink. Keep command (the secret on "+
				"the command's standard input) or file (the secret written to a file), and remove the other.")
		return
	case !hasCommand && !hasFile:
		diags.AddAttributeError(p, "secret_delivery needs exactly one sink",
			"secret_delivery sets neither command nor file. Add command = [\"program\", \"arg\", …] to pass the secret to a "+
				"program's standard input, or file = \"/path/to/token\" to write it to a file; or remove the block to keep the "+
				"secret in state.")
		return
	}
	only := func(name, sink, other string, v knowable) {
		if !v.IsNull() && !v.IsUnknown() { // an unknown value may turn out null: checked again once known

			diags.AddAttributeError(p.AtName(name), fmt.Sprintf("secret_delivery.%s is only for the %s sink", name, sink),
				fmt.Sprintf("secret_delivery.%s applies to the %s sink, but this block uses %s. Remove %s, or use the %s sink.",
					name, sink, other, name, sink))
		}
	}
	if hasCommand {
		only("format", "file", "command", d.Format)
		only("mode", "file", "command", d.Mode)
		validateCommand(ctx, d, onDisk, diags)
		return
	}
	only("env", "command", "file", d.Env)
	only("timeout", "command", "file", d.Timeout)
	validateFile(d, onDisk, diags)
}

func validateCommand(ctx context.Context, d *deliveryModel, onDisk bool, diags *diag.Diagnostics) {
	p := path.Root("secret_delivery").AtName("command")
	elems := d.Command.Elements()
	if len(elems) == 0 {
		diags.AddAttributeError(p, "Empty delivery command",
			"secret_delivery.command is empty. Give the program to run and its arguments, such as "+
				"[\"gh\", \"secret\", \"set\", \"CMDOP_TOKEN\"]: it gets the secret on standard input.")
		return
	}
	for i, e := range elems {
		s, ok := e.(types.String)
		if ok && s.IsUnknown() {
			continue
		}
		if !ok || s.IsNull() || (i == 0 && strings.TrimSpace(s.ValueString()) == "") {
			diags.AddAttributeError(p.AtListIndex(i), "Empty delivery command",
				fmt.Sprintf("secret_delivery.command[%d] is null or blank. The first element is the program to run, and no "+
					"element may be null: the command runs without a shell, exactly as listed.", i))
			return
		}
	}
	if isKnown(d.Timeout) {
		if t, err := validators.ParseDuration(d.Timeout.ValueString()); err == nil && t <= 0 {
			diags.AddAttributeError(path.Root("secret_delivery").AtName("timeout"), "Invalid delivery timeout",
				fmt.Sprintf("secret_delivery.timeout is %q, but the command needs time to run: use a positive duration such as "+
					"\"30s\", or remove it for the default of 1m.", d.Timeout.ValueString()))
		}
	}
	if isKnown(d.Env) {
		for k := range d.Env.Elements() {
			switch {
			case !envNamePattern.MatchString(k):
				diags.AddAttributeError(path.Root("secret_delivery").AtName("env"), "Invalid delivery environment variable",
					fmt.Sprintf("secret_delivery.env has the name %q, which is not an environment variable name: use letters, "+
						"digits and underscores, not starting with a digit.", k))
			case slices.Contains(reservedDeliveryEnv, k) || slices.Contains(removedDeliveryEnv, k):
				diags.AddAttributeError(path.Root("secret_delivery").AtName("env"), "Invalid delivery environment variable",
					fmt.Sprintf("secret_delivery.env sets %s, which the provider sets (or, for the provider's own credentials, "+
						"removes) for the command. Remove it from env; the command reads the value the provider gives.", k))
			}
		}
	}
	argv := d.argv(ctx)
	if !onDisk || argv == nil {
		return
	}
	if _, err := exec.LookPath(argv[0]); err != nil {
		diags.AddAttributeError(p.AtListIndex(0), "Delivery command not found",
			fmt.Sprintf("secret_delivery.command runs %q, which cannot be run on this machine (%s). Terraform checks it before "+
				"issuing the token, because a secret that cannot be delivered is revoked at once. Install it, put it on PATH, "+
				"or give its full path, and plan again. The machine that applies the plan must have it too.",
				argv[0], cmdopapi.Redact(err.Error())))
	}
}

func validateFile(d *deliveryModel, onDisk bool, diags *diag.Diagnostics) {
	p := path.Root("secret_delivery").AtName("file")
	if !isKnown(d.File) {
		return
	}
	name := d.File.ValueString()
	if strings.TrimSpace(name) == "" || strings.HasSuffix(name, "/") || strings.HasSuffix(name, string(filepath.Separator)) {
		diags.AddAttributeError(p, "Invalid delivery file",
			fmt.Sprintf("secret_delivery.file is %q, which does not name a file. Give the path of the file to write, such as "+
				"\"/home/me/.config/cmdop/ci.token\".", name))
		return
	}
	if !onDisk {
		return
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		diags.AddAttributeError(p, "Invalid delivery file", fmt.Sprintf("secret_delivery.file %q: %s.", name, err))
		return
	}
	dir := filepath.Dir(abs)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		rel := ""
		if !filepath.IsAbs(name) {
			cwd, _ := os.Getwd()
			rel = fmt.Sprintf(" (a relative path, taken from %s, the directory Terraform runs in)", cwd)
		}
		diags.AddAttributeError(p, "Invalid delivery file",
			fmt.Sprintf("The directory of secret_delivery.file %q%s does not exist: %s. The provider does not create directories. "+
				"Create it first, or use an absolute path to an existing directory, and plan again.", name, rel, dir))
		return
	}
	if st, err := os.Stat(abs); err == nil && st.IsDir() {
		diags.AddAttributeError(p, "Invalid delivery file",
			fmt.Sprintf("secret_delivery.file %q is a directory. Give the path of a file inside it, such as %q.",
				name, filepath.Join(name, "cmdop.token")))
	}
}

// validateDeliveryConfig is ValidateConfig's part: the checks that need
// neither the disk nor known values.
func (r *tokenResource) validateDeliveryConfig(ctx context.Context, m *tokenResourceModel, diags *diag.Diagnostics) {
	if d, ok := deliveryOf(ctx, m, diags); ok {
		validateDelivery(ctx, d, false, diags)
	}
}

// planDelivery is ModifyPlan's part: with the block, the secret is null in
// the plan and its fingerprint comes after apply; without it, both are null.
// The checks run again with the values known now, and, when a token is
// about to be issued, against this machine.
func (r *tokenResource) planDelivery(ctx context.Context, plan, state *tokenResourceModel, diags *diag.Diagnostics) {
	d, ok := deliveryOf(ctx, plan, diags)
	if !ok {
		return // unknown (a dynamic block): settled at apply
	}
	if d == nil {
		plan.SecretSHA256 = types.StringNull()
		plan.SecretDeliveredAt = timetypes.NewRFC3339Null()
		return
	}
	plan.Secret = types.StringNull()
	validateDelivery(ctx, d, state == nil, diags)
}

// deliverSecret hands a new token's secret to the configured sink, or, with
// no secret_delivery, keeps it in the model. It reports false when the
// create must stop: the delivery failed, the token was revoked, and the
// error says so.
func (r *tokenResource) deliverSecret(ctx context.Context, tokens *cmdop.TokenCache, m *tokenResourceModel, tok *cmdopapi.Token,
	resp *resource.CreateResponse,
) bool {
	d, ok := deliveryOf(ctx, m, &resp.Diagnostics)
	if !ok && !resp.Diagnostics.HasError() {
		resp.Diagnostics.AddError("Internal error", "secret_delivery is unknown at apply. This is a bug in the provider.")
	}
	if d == nil && !resp.Diagnostics.HasError() {
		m.Secret = types.StringValue(tok.RawToken)
		m.SecretSHA256 = types.StringNull()
		m.SecretDeliveredAt = timetypes.NewRFC3339Null()
		return true
	}
	var err error
	var output string
	if !resp.Diagnostics.HasError() {
		if argv := d.argv(ctx); argv != nil {
			output, err = runDeliveryCommand(ctx, argv, deliveryEnv(r.kind, d, tok), tok.RawToken, d.timeout())
		} else {
			err = writeDeliveryFile(d.File.ValueString(), deliveryFileContent(d.format(), tok), d.mode())
		}
	}
	if err == nil && !resp.Diagnostics.HasError() {
		sum := sha256.Sum256([]byte(tok.RawToken))
		m.Secret = types.StringNull()
		m.SecretSHA256 = types.StringValue(hex.EncodeToString(sum[:]))
		m.SecretDeliveredAt = timeValue(tokens.ServerNow())
		tflog.Info(ctx, "Delivered the token's secret", map[string]any{"token_id": tok.ID, "sink": d.sink(ctx)})
		if output != "" {
			tflog.Debug(ctx, "Delivery command output", map[string]any{"output": maskOutput(output, tok.RawToken)})
		}
		return true
	}
	r.failDelivery(ctx, tokens, m, tok, d, err, output, resp)
	return false
}

// failDelivery revokes a token whose secret was not delivered, and says so.
// Only if the revocation fails too does the token stay in state, tainted,
// so that the next apply revokes and replaces it.
func (r *tokenResource) failDelivery(ctx context.Context, tokens *cmdop.TokenCache, m *tokenResourceModel, tok *cmdopapi.Token,
	d *deliveryModel, cause error, output string, resp *resource.CreateResponse,
) {
	m.Secret = types.StringNull()
	m.SecretSHA256 = types.StringNull()
	m.SecretDeliveredAt = timetypes.NewRFC3339Null()
	m.applyToken(tok)
	what := r.describe(m)
	sink := "the secret_delivery block"
	if d != nil {
		sink = "the " + d.sink(ctx)
	}
	why := "the delivery could not run"
	if cause != nil {
		why = cmdopapi.Redact(strings.ReplaceAll(cause.Error(), tok.RawToken, "cmdop_***"))
	}
	// The create's own deadline may be what stopped the command: the
	// revocation gets time of its own.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), defaultDeleteTimeout)
	defer cancel()
	revokeErr := revokeIfPresent(rctx, tokens.RevokeToken, r.collectionOf(m), tok.ID)
	var b strings.Builder
	fmt.Fprintf(&b, "Terraform issued the %s, then delivering its secret to %s failed: %s.\n\n", what, sink, why)
	if revokeErr == nil {
		fmt.Fprintf(&b, "Nothing may stay live whose secret nobody holds, so token %s was revoked at once, and it is not in the "+
			"state. With create_before_destroy, the token it was to replace and that token's consumer are untouched. "+
			"Fix the sink and run terraform apply again: it issues a new token.", tok.ID)
	} else {
		d := r.data.apiError("revoking", what, r.collectionOf(m), revokeErr)
		fmt.Fprintf(&b, "Revoking token %s failed too, so the state keeps it as tainted: the next terraform apply revokes it and "+
			"issues a new one. Its secret was not stored anywhere. The revocation failed with: %s", tok.ID, d.Detail())
		// Nobody holds its secret: the next apply revokes it at once,
		// with no grace period for consumers that never got it.
		m.RevokeGracePeriod = types.StringValue("0s")
		r.setModel(ctx, &resp.State, m, &resp.Diagnostics)
		r.setIdentity(ctx, resp.Identity, m, &resp.Diagnostics)
	}
	if tail := lastLines(maskOutput(output, tok.RawToken), outputTailLines); tail != "" {
		fmt.Fprintf(&b, "\n\nThe command's last %d lines of output (anything shaped like a token is masked):\n%s", outputTailLines, tail)
	}
	resp.Diagnostics.AddAttributeError(path.Root("secret_delivery"), fmt.Sprintf("Error delivering the secret of the %s", what), b.String())
}

// deliveryEnv is the command's environment: the provider's, without its
// credentials, plus env and the token's description.
func deliveryEnv(kind tokenKind, d *deliveryModel, tok *cmdopapi.Token) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(removedDeliveryEnv, name) && !slices.Contains(reservedDeliveryEnv, name) {
			env = append(env, kv)
		}
	}
	if isKnown(d.Env) {
		extra := d.Env.Elements()
		keys := make([]string, 0, len(extra))
		for k := range extra {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if v, ok := extra[k].(types.String); ok && !v.IsNull() {
				env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, k+"=") })
				env = append(env, k+"="+v.ValueString())
			}
		}
	}
	expires := ""
	if tok.ExpiresAt != nil {
		expires = tok.ExpiresAt.UTC().Format(time.RFC3339)
	}
	env = append(env, envTokenID+"="+tok.ID, envTokenName+"="+tok.Name, envTokenKeyPrefix+"="+tok.KeyPrefix,
		envTokenExpiresAt+"="+expires)
	if kind.fleet {
		env = append(env, envTokenFleetID+"="+tok.FleetID)
	}
	return env
}

// errDeliveryTimeout marks a command stopped by its timeout.
var errDeliveryTimeout = errors.New("timed out")

// runDeliveryCommand runs argv once, without a shell, with the secret and a
// newline on its standard input. It returns the command's combined output.
func runDeliveryCommand(ctx context.Context, argv, env []string, secret string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...) //nolint:gosec // running the configured command is the point
	cmd.Env = env
	cmd.Stdin = strings.NewReader(secret + "\n")
	out := &tailBuffer{max: outputKeepBytes}
	cmd.Stdout, cmd.Stderr = out, out
	ownProcessGroup(cmd)
	cmd.WaitDelay = 5 * time.Second // a child that keeps the pipes open does not hold the apply
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return out.String(), nil
	case ctx.Err() != nil:
		return out.String(), fmt.Errorf("the command %s after %s and was stopped", errDeliveryTimeout, timeout)
	case errors.As(err, &exitErr):
		if code := exitErr.ExitCode(); code >= 0 {
			return out.String(), fmt.Errorf("the command exited with status %d", code)
		}
		return out.String(), fmt.Errorf("the command was stopped: %s", exitErr)
	default:
		return out.String(), fmt.Errorf("the command could not run: %w", err)
	}
}

// deliveryFileContent is what the file sink writes in each format.
func deliveryFileContent(format string, tok *cmdopapi.Token) []byte {
	switch format {
	case formatDotenv:
		return []byte("CMDOP_TOKEN=" + tok.RawToken + "\n")
	case formatJSON:
		var expires *string
		if tok.ExpiresAt != nil {
			s := tok.ExpiresAt.UTC().Format(time.RFC3339)
			expires = &s
		}
		b, _ := json.Marshal(struct {
			Token     string  `json:"token"`
			ID        string  `json:"id"`
			KeyPrefix string  `json:"key_prefix"`
			ExpiresAt *string `json:"expires_at"`
		}{tok.RawToken, tok.ID, tok.KeyPrefix, expires})
		return append(b, '\n')
	default:
		return []byte(tok.RawToken)
	}
}

// writeDeliveryFile writes data to name atomically: a temporary file in the
// same directory, with the mode set before anything is written, then a
// rename over any existing file.
func writeDeliveryFile(name string, data []byte, mode os.FileMode) (err error) {
	dir := filepath.Dir(name)
	if st, statErr := os.Stat(dir); statErr != nil || !st.IsDir() {
		return fmt.Errorf("the directory %s does not exist", dir)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating a temporary file in %s: %w", dir, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err = f.Chmod(mode); err != nil {
		return fmt.Errorf("setting the mode of %s: %w", tmp, err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err = os.Rename(tmp, name); err != nil {
		return fmt.Errorf("renaming the temporary file to %s: %w", name, err)
	}
	return nil
}

// maskOutput hides the secret, and anything else shaped like a token.
func maskOutput(s, secret string) string {
	if secret != "" {
		s = strings.ReplaceAll(s, secret, "cmdop_***")
	}
	return cmdopapi.Redact(s)
}

// lastLines is the last n non-empty-trailing lines of s.
func lastLines(s string, n int) string {
	s = strings.TrimRight(s, "\r\n")
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// tailBuffer keeps the last max bytes written to it. The command's
// standard output and error share it, so their lines interleave as written.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if extra := t.buf.Len() - t.max; extra > 0 {
		t.buf.Next(extra)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}

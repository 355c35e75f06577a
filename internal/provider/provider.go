// Package provider implements the cmdop Terraform provider.
package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/credentials"
	"github.com/cmdop/terraform-provider-cmdop/internal/validators"
)

var _ provider.Provider = (*cmdopProvider)(nil)

var _ provider.ProviderWithEphemeralResources = (*cmdopProvider)(nil)

// New returns a constructor for the provider at version.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &cmdopProvider{version: version} }
}

type cmdopProvider struct {
	version string
}

type providerModel struct {
	APIBaseURL     types.String         `tfsdk:"api_base_url"`
	Token          types.String         `tfsdk:"token"`
	FleetID        types.String         `tfsdk:"fleet_id"`
	MaxRetries     types.Int64          `tfsdk:"max_retries"`
	RequestTimeout timetypes.GoDuration `tfsdk:"request_timeout"`
	Mode           types.String         `tfsdk:"mode"`
	ConfigDir      types.String         `tfsdk:"config_dir"`
}

// Environment variables the provider reads.
const (
	EnvAPIBaseURL = "CMDOP_API_BASE_URL"
	EnvToken      = credentials.EnvToken
	EnvAPIKey     = credentials.EnvAPIKey
	EnvFleetID    = "CMDOP_FLEET_ID"
	EnvMode       = credentials.EnvMode
	EnvConfigDir  = credentials.EnvConfigDir
)

func (p *cmdopProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "cmdop"
	resp.Version = p.version
}

func (p *cmdopProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The cmdop provider manages the lifecycle of [CMDOP](https://cmdop.com) API tokens: " +
			"fleet tokens, personal tokens, their rotation, and the audit log that records their use.",
		Attributes: map[string]schema.Attribute{
			"api_base_url": schema.StringAttribute{
				MarkdownDescription: "Base URL of the CMDOP API. Falls back to the `" + EnvAPIBaseURL + "` environment variable, " +
					"then to the mode's API: `" + credentials.DefaultBaseURLs[credentials.ModeProd] + "` for `prod`, `" +
					credentials.DefaultBaseURLs[credentials.ModeDev] + "` for `dev`. Must be https, except for plain http to a " +
					"loopback host (such as cmdop-local on `http://127.0.0.1:8790`).",
				Optional:   true,
				Validators: []validator.String{validators.ValidBaseURL()},
			},
			"token": schema.StringAttribute{
				MarkdownDescription: "The CMDOP API token the provider authenticates with (`cmdop_…`). When unset, the first source " +
					"that supplies one wins: the `" + EnvToken + "` environment variable, `" + EnvAPIKey + "`, the active workspace's " +
					"`api_key` in `<config_dir>/ssh_workspaces.json`, then the `access_token` in `<config_dir>/token_<mode>.json` " +
					"(the CMDOP CLI's stores). Needed only when the provider calls the API, so `terraform validate` works without it. " +
					"Managing tokens and reading the audit log need `permissions:manage`; fleet tokens also need a personal token of a " +
					"fleet owner or admin, or a fleet token of that fleet; personal tokens need a personal token.",
				Optional:   true,
				Sensitive:  true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"fleet_id": schema.StringAttribute{
				MarkdownDescription: "Default fleet for `cmdop_fleet_token` resources that set no `fleet_id`. Falls back to the `" +
					EnvFleetID + "` environment variable.",
				Optional:   true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"mode": schema.StringAttribute{
				MarkdownDescription: "The CMDOP CLI mode, `prod` or `dev`: it picks the default `api_base_url` and which OAuth login " +
					"file (`token_<mode>.json`) the credential chain reads. Falls back to the `" + EnvMode + "` environment variable, then `prod`.",
				Optional:   true,
				Validators: []validator.String{stringvalidator.OneOf(credentials.ModeProd, credentials.ModeDev)},
			},
			"config_dir": schema.StringAttribute{
				MarkdownDescription: "Where the CMDOP CLI keeps its credentials. Falls back to the `" + EnvConfigDir + "` environment " +
					"variable, then `~/.cmdop`. The provider refuses a credentials file there that other users can read.",
				Optional:   true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"max_retries": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("How many times one API call is retried after a rate limit (429, honouring `Retry-After`), "+
					"a 502/503/504 or a connection error, with jittered exponential backoff. Between 0 and 20; default %d. "+
					"Creates are retried safely: each carries an `Idempotency-Key`.", cmdop.DefaultMaxRetries),
				Optional:   true,
				Validators: []validator.Int64{int64validator.Between(0, 20)},
			},
			"request_timeout": schema.StringAttribute{
				MarkdownDescription: fmt.Sprintf("Timeout of a single HTTP attempt, as a Go duration such as `\"30s\"`; default `\"%s\"`. "+
					"The resources' `timeouts` blocks bound a whole operation, retries included.", cmdop.DefaultRequestTimeout),
				Optional:   true,
				CustomType: timetypes.GoDurationType{},
			},
		},
	}
}

// providerData is what Configure hands to every resource and data source.
type providerData struct {
	client *cmdop.Client
	// tokens serves the token resources' reads from one listing per
	// collection, for the life of this provider process.
	tokens  *cmdop.TokenCache
	fleetID string
	// clientErr explains why there is no client (no token); it is reported
	// only when an operation actually needs the API.
	clientErr string
	// configUnknown: the configuration holds values known only during apply.
	configUnknown bool
	// baseURL is the API base URL, redacted, for error messages.
	baseURL string

	// Facts fetched once per provider process: who the provider's token
	// belongs to, and which fleets it can reach.
	mu       sync.Mutex
	acct     *cmdop.Account
	fleetErr map[string]error // fleet → the outcome of its check
	// clockTried: serverNow has asked the API for its clock once.
	clockTried bool
}

// account returns who the provider is authenticated as: the who-am-I call,
// made once per provider process (a failure is not kept, so the next caller
// tries again). It also sets the client's view of the server's clock.
func (d *providerData) account(ctx context.Context) (*cmdop.Account, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.acct != nil {
		return d.acct, nil
	}
	acct, err := d.client.Account(ctx)
	if err != nil {
		return nil, err
	}
	d.acct = acct
	return acct, nil
}

// serverNow is the API server's clock. Every expiry decision and give-up
// window uses it: it asks the API once per process, if nothing else has
// yet, so that it never falls back to this machine's clock.
func (d *providerData) serverNow(ctx context.Context) time.Time {
	d.mu.Lock()
	tried := d.clockTried
	d.clockTried = true
	d.mu.Unlock()
	if !tried {
		ctx, cancel := context.WithTimeout(ctx, planCheckTimeout)
		defer cancel()
		_, _ = d.account(ctx) // a failure leaves the local clock: the calls that need the API report it
	}
	return d.client.ServerNow()
}

// checkFleet makes sure the provider's token can reach fleet: once per
// fleet per provider process (the answer, failure included, is kept),
// through the token listing that the resources' reads share, so that it
// costs no extra request. The check is bounded by planCheckTimeout.
func (d *providerData) checkFleet(ctx context.Context, fleet string) error {
	d.mu.Lock()
	err, done := d.fleetErr[fleet]
	d.mu.Unlock()
	if done {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, planCheckTimeout)
	defer cancel()
	err = d.tokens.CheckCollection(ctx, fleet)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fleetErr == nil {
		d.fleetErr = map[string]error{}
	}
	d.fleetErr[fleet] = err
	return err
}

// planCheckTimeout bounds the plan-time fleet check, so that a slow API
// never holds a plan for long.
const planCheckTimeout = 10 * time.Second

// isRefusal tells whether err is the API's definite answer about the
// request (401, 403, 404, 422), rather than a failure to get one.
func isRefusal(err error) bool {
	apiErr, ok := cmdop.AsError(err)
	if !ok {
		return false
	}
	switch apiErr.Code {
	case cmdop.CodeAuth, cmdop.CodePermission, cmdop.CodeNotFound, cmdop.CodeValidation:
		return true
	}
	return false
}

// providerDataFrom unpacks what Configure handed over; nil before then.
func providerDataFrom(v any, diags *diag.Diagnostics) *providerData {
	if v == nil {
		return nil
	}
	data, ok := v.(*providerData)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("Expected *providerData, got %T. This is a bug in the provider.", v))
	}
	return data
}

// clientFrom returns the API client, or reports why there is none.
func clientFrom(d *providerData, diags *diag.Diagnostics) *cmdop.Client {
	switch {
	case d == nil:
		diags.AddError("Provider not configured", "The cmdop provider was not configured before use. This is a bug in the provider or Terraform.")
	case d.client == nil:
		diags.AddError("Missing CMDOP API token", d.clientErr)
	}
	if d == nil {
		return nil
	}
	return d.client
}

// fleetFor resolves a fleet_id argument: as configured, or else the
// provider's default. When there is none it reports the missing fleet on
// fleet_id, saying where to set it (what names the object: "the data
// source"), and returns "".
func (d *providerData) fleetFor(configured types.String, what string, diags *diag.Diagnostics) string {
	if !configured.IsNull() {
		return configured.ValueString()
	}
	if d.fleetID == "" {
		diags.AddAttributeError(path.Root("fleet_id"), "Missing fleet ID",
			"Set fleet_id on "+what+", or fleet_id on the provider (or the "+EnvFleetID+" environment variable).")
	}
	return d.fleetID
}

// revokeIfPresent revokes a token; one already revoked, or that the API
// says does not exist in its collection, is fine. Any other error,
// including a missing fleet or a wrong URL, is returned.
func revokeIfPresent(ctx context.Context, revoke func(context.Context, string, string) error, fleetID, id string) error {
	if err := revoke(ctx, fleetID, id); err != nil && !errors.Is(err, cmdop.ErrTokenNotFound) {
		return err
	}
	return nil
}

// joinCode joins names for a Markdown description: a`, `b.
func joinCode(names []string) string { return strings.Join(names, "`, `") }

func (p *cmdopProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	ctx = cmdop.MaskSecrets(ctx)
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	for _, v := range []types.String{cfg.APIBaseURL, cfg.Token, cfg.FleetID, cfg.Mode, cfg.ConfigDir} {
		if v.IsUnknown() {
			// Known only during apply (another resource's output, say):
			// falling back to the environment would use the wrong settings.
			data := &providerData{configUnknown: true, clientErr: "The provider's configuration (api_base_url, token, fleet_id, " +
				"mode or config_dir) depends on values Terraform knows only during apply, so the provider cannot call the API yet. " +
				"Run terraform apply, or target the resources those values come from first."}
			resp.ResourceData, resp.DataSourceData, resp.EphemeralResourceData = data, data, data
			return
		}
	}

	creds, err := credentials.Resolve(ctx, credentials.Input{
		Token: cfg.Token.ValueString(), Mode: cfg.Mode.ValueString(), ConfigDir: cfg.ConfigDir.ValueString(),
	})
	if err != nil {
		resp.Diagnostics.AddError("Cannot read CMDOP credentials", cmdop.Redact(err.Error())+".")
		return
	}
	for _, w := range creds.Warnings {
		resp.Diagnostics.AddWarning("Skipped a CMDOP credential", cmdop.Redact(w))
	}
	baseURL := firstSet(cfg.APIBaseURL, EnvAPIBaseURL)
	if baseURL == "" {
		baseURL = credentials.DefaultBaseURLs[creds.Mode]
	} else if err := validators.CheckBaseURL(baseURL); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("api_base_url"), "Invalid API base URL",
			fmt.Sprintf("api_base_url (or %s): %s.", EnvAPIBaseURL, err))
		return
	}
	token := creds.Token
	fleetID := firstSet(cfg.FleetID, EnvFleetID)

	timeout := cmdop.DefaultRequestTimeout
	if !cfg.RequestTimeout.IsNull() && !cfg.RequestTimeout.IsUnknown() {
		d, diags := cfg.RequestTimeout.ValueGoDuration()
		resp.Diagnostics.Append(diags...)
		if d <= 0 || d > 10*time.Minute {
			resp.Diagnostics.AddAttributeError(path.Root("request_timeout"), "Invalid request timeout",
				"request_timeout must be a positive duration of at most 10 minutes, such as \"30s\".")
		}
		timeout = d
	}
	retries := cmdop.DefaultMaxRetries
	if !cfg.MaxRetries.IsNull() && !cfg.MaxRetries.IsUnknown() {
		retries = int(cfg.MaxRetries.ValueInt64())
		if retries == 0 {
			retries = -1 // the client reads 0 as "default"
		}
	}
	if resp.Diagnostics.HasError() {
		return
	}

	data := &providerData{fleetID: fleetID}
	if token == "" {
		data.clientErr = "No CMDOP API token is configured. Set the provider's token argument or the " + EnvToken +
			" (or " + EnvAPIKey + ") environment variable to a CMDOP API token, or log in with the CMDOP CLI (`cmdop login`) " +
			"so that " + cmdop.Redact(creds.ConfigDir) + " holds one. Run cmdop-local to get a token for local testing."
	} else {
		client, err := cmdop.New(cmdop.Config{
			BaseURL: baseURL, Token: token, Version: p.version,
			MaxRetries: retries, RequestTimeout: timeout,
		})
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("api_base_url"), "Invalid API base URL", cmdop.Redact(err.Error()))
			return
		}
		data.client = client
		data.baseURL = client.BaseURL()
		data.tokens = cmdop.NewTokenCache(client)
	}
	// Any of these settings could hold a pasted secret: log them redacted.
	tflog.Debug(ctx, "Configured the CMDOP provider", map[string]any{
		"api_base_url": cmdop.Redact(baseURL), "token_source": creds.Source, "mode": creds.Mode,
		"fleet_id": cmdop.Redact(fleetID), "config_dir": cmdop.Redact(creds.ConfigDir),
	})
	resp.ResourceData = data
	resp.DataSourceData = data
	resp.EphemeralResourceData = data
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

func (p *cmdopProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewFleetTokenResource,
		NewPersonalTokenResource,
	}
}

func (p *cmdopProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewAuditEventsDataSource,
		NewFleetTokensDataSource,
		NewPersonalTokensDataSource,
	}
}

func (p *cmdopProvider) EphemeralResources(context.Context) []func() ephemeral.EphemeralResource {
	return []func() ephemeral.EphemeralResource{
		NewFleetTokenEphemeralResource,
		NewPersonalTokenEphemeralResource,
	}
}

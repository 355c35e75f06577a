// Package provider implements the cmdop Terraform provider.
package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/list"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/credentials"
	"github.com/cmdop/terraform-provider-cmdop/internal/fwcompat"
	"github.com/cmdop/terraform-provider-cmdop/internal/validators"
)

var _ provider.Provider = (*cmdopProvider)(nil)

var _ provider.ProviderWithEphemeralResources = (*cmdopProvider)(nil)

var (
	_ provider.ProviderWithListResources = (*cmdopProvider)(nil)
	_ provider.ProviderWithActions       = (*cmdopProvider)(nil)
)

// New returns a constructor for the provider at version.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &cmdopProvider{version: version, ephemeral: newEphemeralLedger()} }
}

// Serve is providerserver.Serve (protocol 6) for the provider, with the
// framework workarounds of internal/fwcompat. When the plugin stops, it also
// revokes the ephemeral tokens that Terraform opened and never closed
// (token_ephemeral_ledger.go).
func Serve(ctx context.Context, providerFunc func() provider.Provider, opts providerserver.ServeOpts) error {
	p := providerFunc()
	ledger := newEphemeralLedger()
	if cp, ok := p.(*cmdopProvider); ok {
		ledger = cp.ephemeral
	}
	stop := guardEphemeral(ledger)
	defer stop()
	err := fwcompat.Serve(ctx, func() provider.Provider { return p }, opts)
	stop()
	ledger.revokeOpen(ctx)
	return err
}

type cmdopProvider struct {
	version string
	// ephemeral holds the ephemeral tokens opened and not yet closed, for
	// every configuration of the provider in this process: Serve revokes
	// what is left when the plugin stops (token_ephemeral_ledger.go).
	ephemeral *ephemeralLedger
}

type providerModel struct {
	APIBaseURL     types.String         `tfsdk:"api_base_url"`
	Token          types.String         `tfsdk:"token"`
	FleetID        types.String         `tfsdk:"fleet_id"`
	MaxRetries     types.Int64          `tfsdk:"max_retries"`
	RequestTimeout timetypes.GoDuration `tfsdk:"request_timeout"`
	Mode           types.String         `tfsdk:"mode"`
	ConfigDir      types.String         `tfsdk:"config_dir"`
	TokenPolicy    types.Object         `tfsdk:"token_policy"`
}

// Environment variables the provider reads.
const (
	envAPIBaseURL = "CMDOP_API_BASE_URL"
	envToken      = credentials.EnvToken
	envAPIKey     = credentials.EnvAPIKey
	envFleetID    = "CMDOP_FLEET_ID"
	envMode       = credentials.EnvMode
	envConfigDir  = credentials.EnvConfigDir
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
				MarkdownDescription: "Base URL of the CMDOP API. Falls back to the `" + envAPIBaseURL + "` environment variable, " +
					"then to the mode's API: `" + credentials.DefaultBaseURLs[credentials.ModeProd] + "` for `prod`, `" +
					credentials.DefaultBaseURLs[credentials.ModeDev] + "` for `dev`. Must be https, except for plain http to a " +
					"loopback host (such as cmdop-local on `http://127.0.0.1:8790`).",
				Optional:   true,
				Validators: []validator.String{validators.ValidBaseURL()},
			},
			"token": schema.StringAttribute{
				MarkdownDescription: "The CMDOP API token the provider authenticates with (`cmdop_…`). When unset, the first source " +
					"that supplies one wins: the `" + envToken + "` environment variable, `" + envAPIKey + "`, the active workspace's " +
					"`api_key` in `<config_dir>/ssh_workspaces.json`, then the `access_token` in `<config_dir>/token_<mode>.json` " +
					"(the CMDOP CLI's stores). The CLI's login, which carries its user's full rights, is used only with its own mode's " +
					"API (`prod` with `https://api.cmdop.com`, `dev` with `https://api-dev.cmdop.com`); every other source works with " +
					"any `api_base_url`. A value not shaped like a CMDOP token is refused and never sent. Needed whenever Terraform " +
					"configures the provider for a plan or apply; `terraform validate` works without it. " +
					"Managing tokens and reading the audit log need `permissions:manage`; fleet tokens also need a personal token of a " +
					"fleet owner or admin, or a fleet token of that fleet; personal tokens need a personal token.",
				Optional:   true,
				Sensitive:  true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"fleet_id": schema.StringAttribute{
				MarkdownDescription: "Default fleet for `cmdop_fleet_token` resources that set no `fleet_id`. Falls back to the `" +
					envFleetID + "` environment variable.",
				Optional:   true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"mode": schema.StringAttribute{
				MarkdownDescription: "The CMDOP CLI mode, `prod` or `dev`: it picks the default `api_base_url` and which OAuth login " +
					"file (`token_<mode>.json`) the credential chain reads. Falls back to the `" + envMode + "` environment variable, then `prod`.",
				Optional:   true,
				Validators: []validator.String{stringvalidator.OneOf(credentials.ModeProd, credentials.ModeDev)},
			},
			"config_dir": schema.StringAttribute{
				MarkdownDescription: "Where the CMDOP CLI keeps its credentials. Falls back to the `" + envConfigDir + "` environment " +
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
		Blocks: map[string]schema.Block{"token_policy": tokenPolicyBlock()},
	}
}

func (p *cmdopProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	ctx = cmdop.MaskSecrets(ctx)
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	policy := loadTokenPolicy(ctx, cfg.TokenPolicy, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	for _, v := range []types.String{cfg.APIBaseURL, cfg.Token, cfg.FleetID, cfg.Mode, cfg.ConfigDir} {
		if v.IsUnknown() {
			// Known only during apply (another resource's output, say):
			// falling back to the environment would use the wrong settings.
			data := &providerData{ephemeral: p.ephemeral, configUnknown: true, policy: policy, clientErr: "The provider's configuration (api_base_url, token, fleet_id, " +
				"mode or config_dir) depends on values Terraform knows only during apply, so the provider cannot call the API yet. " +
				"Run terraform apply, or target the resources those values come from first."}
			resp.ResourceData, resp.DataSourceData, resp.EphemeralResourceData = data, data, data
			resp.ListResourceData, resp.ActionData = data, data
			return
		}
	}

	baseURL := firstSet(cfg.APIBaseURL, envAPIBaseURL)
	if baseURL != "" {
		if err := validators.CheckBaseURL(baseURL); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("api_base_url"), "Invalid API base URL",
				fmt.Sprintf("api_base_url (or %s): %s.", envAPIBaseURL, err))
			return
		}
	}
	creds, err := credentials.Resolve(ctx, credentials.Input{
		Token: cfg.Token.ValueString(), Mode: cfg.Mode.ValueString(), ConfigDir: cfg.ConfigDir.ValueString(),
		BaseURL: baseURL, // the CLI's login goes only to its own mode's API
	})
	if err != nil {
		resp.Diagnostics.AddError("Cannot read CMDOP credentials", cmdopapi.Redact(err.Error())+".")
		return
	}
	for _, w := range creds.Warnings {
		resp.Diagnostics.AddWarning("Skipped a CMDOP credential", cmdopapi.Redact(w))
	}
	if baseURL == "" {
		baseURL = credentials.DefaultBaseURLs[creds.Mode]
	}
	token := creds.Token
	fleetID := firstSet(cfg.FleetID, envFleetID)

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

	if token == "" {
		// Terraform configures the provider only for an operation that
		// uses it (validate never does), so this fails the plan up front
		// rather than at apply.
		resp.Diagnostics.AddError("Missing CMDOP API token", fmt.Sprintf("No CMDOP API token was found for %s. Searched, in order:\n  - %s\n\n"+
			"Set the provider's token argument or the %s (or %s) environment variable to a CMDOP API token, or log in with the CMDOP "+
			"CLI (`cmdop login`). Run cmdop-local to get a token for local testing. terraform validate needs no token.",
			cmdopapi.SafeURL(baseURL), cmdopapi.Redact(strings.Join(creds.Searched, "\n  - ")), envToken, envAPIKey))
		return
	}
	if !cmdopapi.TokenPattern.MatchString(token) {
		// Never sent: a garbage token would only earn a 401, and a token
		// of another service would be handed to this API.
		resp.Diagnostics.AddError("Invalid CMDOP API token",
			fmt.Sprintf("The token from %s is not shaped like a CMDOP API token (cmdop_ followed by at least 32 letters and digits), "+
				"so the provider did not send it. Check that the value is a whole CMDOP token, without quotes, spaces or another "+
				"service's token, then run the command again.", cmdopapi.Redact(creds.Source)))
		return
	}
	client, err := cmdop.New(cmdop.Config{
		BaseURL: baseURL, Token: token, Version: p.version,
		MaxRetries: retries, RequestTimeout: timeout,
	})
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("api_base_url"), "Invalid API base URL", cmdopapi.Redact(err.Error()))
		return
	}
	data := &providerData{
		client: client, baseURL: client.BaseURL(), tokens: cmdop.NewTokenCache(client), fleetID: fleetID,
		keyPrefix: cmdopapi.KeyPrefix(token), tokenSource: cmdopapi.Redact(creds.Source), policy: policy,
		ephemeral: p.ephemeral,
	}
	// Any of these settings could hold a pasted secret: log them redacted.
	tflog.Debug(ctx, "Configured the CMDOP provider", map[string]any{
		"api_base_url": cmdopapi.SafeURL(baseURL), "token_source": creds.Source, "mode": creds.Mode,
		"fleet_id": cmdopapi.Redact(fleetID), "config_dir": cmdopapi.Redact(creds.ConfigDir),
	})
	resp.ResourceData = data
	resp.DataSourceData = data
	resp.EphemeralResourceData = data
	resp.ListResourceData = data
	resp.ActionData = data
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

func (p *cmdopProvider) ListResources(context.Context) []func() list.ListResource {
	return []func() list.ListResource{
		NewFleetTokenListResource,
		NewPersonalTokenListResource,
	}
}

func (p *cmdopProvider) Actions(context.Context) []func() action.Action {
	return []func() action.Action{
		NewRevokeTokensAction,
	}
}

package provider

import (
	"context"
	"fmt"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

var (
	_ datasource.DataSourceWithConfigure      = (*auditEventsDataSource)(nil)
	_ datasource.DataSourceWithValidateConfig = (*auditEventsDataSource)(nil)
)

// Bounds of max_results.
const (
	defaultAuditMaxResults = 100
	maxAuditMaxResults     = 10000
)

// NewAuditEventsDataSource returns the cmdop_audit_events data source.
func NewAuditEventsDataSource() datasource.DataSource { return &auditEventsDataSource{} }

type auditEventsDataSource struct{ data *providerData }

type auditEventsModel struct {
	ID         types.String      `tfsdk:"id"`
	FleetID    types.String      `tfsdk:"fleet_id"`
	TokenID    types.String      `tfsdk:"token_id"`
	ActorID    types.String      `tfsdk:"actor_id"`
	Actions    types.Set         `tfsdk:"actions"`
	Since      timetypes.RFC3339 `tfsdk:"since"`
	Until      timetypes.RFC3339 `tfsdk:"until"`
	MaxResults types.Int64       `tfsdk:"max_results"`
	Events     []auditEventModel `tfsdk:"events"`
	Truncated  types.Bool        `tfsdk:"truncated"`
	LatestTime timetypes.RFC3339 `tfsdk:"latest_time"`
}

type auditEventModel struct {
	ID         types.String      `tfsdk:"id"`
	Time       timetypes.RFC3339 `tfsdk:"time"`
	Action     types.String      `tfsdk:"action"`
	ActorType  types.String      `tfsdk:"actor_type"`
	ActorID    types.String      `tfsdk:"actor_id"`
	TokenID    types.String      `tfsdk:"token_id"`
	FleetID    types.String      `tfsdk:"fleet_id"`
	RequestID  types.String      `tfsdk:"request_id"`
	SourceIP   types.String      `tfsdk:"source_ip"`
	UserAgent  types.String      `tfsdk:"user_agent"`
	StatusCode types.Int64       `tfsdk:"status_code"`
}

func (d *auditEventsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_audit_events"
}

func (d *auditEventsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: desc, Computed: true}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads CMDOP's audit log, newest first: every token issuance, use and revocation, with its actor and request ID. " +
			"Use it to check, before revoking an old token, that its last use came before the rollout of its replacement. " +
			"The provider's token sees its own account's events and those of the fleets whose tokens it may manage.",
		Attributes: map[string]schema.Attribute{
			"id": computed("A stable hash of the filters."),
			"fleet_id": schema.StringAttribute{
				MarkdownDescription: "Only events of this fleet. Reading a fleet's events needs a token that may manage its tokens.",
				Optional:            true,
				Validators:          fleetIDValidators(),
			},
			"token_id": schema.StringAttribute{
				MarkdownDescription: "Only events about this token.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"actor_id": schema.StringAttribute{
				MarkdownDescription: "Only events performed by this actor (a user ID or a token ID).",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"actions": schema.SetAttribute{
				MarkdownDescription: "Only these actions: any of `" + joinCode(cmdopapi.AuditActions) + "`.",
				Optional:            true,
				ElementType:         types.StringType,
				Validators: []validator.Set{
					setvalidator.SizeAtLeast(1),
					setvalidator.NoNullValues(),
					setvalidator.ValueStringsAre(stringvalidator.OneOf(cmdopapi.AuditActions...)),
				},
			},
			"since": schema.StringAttribute{
				MarkdownDescription: "Only events at or after this time (RFC3339).",
				Optional:            true,
				CustomType:          timetypes.RFC3339Type{},
			},
			"until": schema.StringAttribute{
				MarkdownDescription: "Only events before this time (RFC3339). Must not be before `since`.",
				Optional:            true,
				CustomType:          timetypes.RFC3339Type{},
			},
			"max_results": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("At most this many events, the newest; between 1 and %d, default %d. `truncated` tells whether more matched.", maxAuditMaxResults, defaultAuditMaxResults),
				Optional:            true,
				Computed:            true,
				Validators:          []validator.Int64{int64validator.Between(1, maxAuditMaxResults)},
			},
			"events": schema.ListNestedAttribute{
				MarkdownDescription: "The matching events, newest first.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"id":          computed("The event's ID."),
					"time":        schema.StringAttribute{MarkdownDescription: "When it happened (RFC3339, API server time).", Computed: true, CustomType: timetypes.RFC3339Type{}},
					"action":      computed("One of `" + joinCode(cmdopapi.AuditActions) + "`."),
					"actor_type":  computed("`user`, `api_token` or `system`."),
					"actor_id":    computed("Who did it: a user ID or a token ID."),
					"token_id":    computed("The token the event is about, if any."),
					"fleet_id":    computed("The fleet the event belongs to, if any."),
					"request_id":  computed("The API request ID, to quote to CMDOP support."),
					"source_ip":   computed("The caller's IP address."),
					"user_agent":  computed("The caller's User-Agent."),
					"status_code": schema.Int64Attribute{MarkdownDescription: "The HTTP status of the request.", Computed: true},
				}},
			},
			"truncated": schema.BoolAttribute{
				MarkdownDescription: "True when more events matched than `max_results`.",
				Computed:            true,
			},
			"latest_time": schema.StringAttribute{
				MarkdownDescription: "The time of the newest matching event, or null when none matched.",
				Computed:            true,
				CustomType:          timetypes.RFC3339Type{},
			},
		},
	}
}

func (d *auditEventsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *auditEventsDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	var cfg auditEventsModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() || !isKnown(cfg.Since) || !isKnown(cfg.Until) {
		return
	}
	since, d1 := cfg.Since.ValueRFC3339Time()
	until, d2 := cfg.Until.ValueRFC3339Time()
	if d1.HasError() || d2.HasError() {
		return
	}
	if since.After(until) {
		resp.Diagnostics.AddAttributeError(path.Root("since"), "since is after until",
			fmt.Sprintf("since (%s) is after until (%s), so no event could match. Swap them, or widen the window.", cfg.Since.ValueString(), cfg.Until.ValueString()))
	}
}

func (d *auditEventsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	ctx = cmdop.MaskSecrets(ctx)
	var m auditEventsModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	client := clientFrom(d.data, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	q := cmdop.AuditQuery{FleetID: m.FleetID.ValueString(), TokenID: m.TokenID.ValueString(), ActorID: m.ActorID.ValueString()}
	resp.Diagnostics.Append(m.Actions.ElementsAs(ctx, &q.Actions, true)...)
	slices.Sort(q.Actions)
	q.Since = timeOrZero(m.Since, &resp.Diagnostics)
	q.Until = timeOrZero(m.Until, &resp.Diagnostics)
	if m.MaxResults.IsNull() {
		m.MaxResults = types.Int64Value(defaultAuditMaxResults)
	}
	if resp.Diagnostics.HasError() {
		return
	}

	events, truncated, err := client.AuditEvents(ctx, q, int(m.MaxResults.ValueInt64()))
	if err != nil {
		diagnostic := d.data.apiError("reading", "audit events", q.FleetID, err)
		if apiErr, ok := cmdop.AsError(err); ok && apiErr.Code == cmdopapi.CodePermission {
			diagnostic = diag.NewErrorDiagnostic("Error reading audit events", fmt.Sprintf(
				"The provider's token may not read these audit events. A token sees its own account's events and the events of the fleets "+
					"whose tokens it may manage: for fleet_id, use a personal token of the fleet's owner or an admin, or a fleet token of that "+
					"fleet holding the permissions:manage scope.\n\nAPI error (HTTP %d): %s\nRequest ID: %s", apiErr.StatusCode, apiErr.Message, orNone(apiErr.RequestID)))
		}
		resp.Diagnostics.Append(diagnostic)
		return
	}

	m.Events = make([]auditEventModel, len(events))
	for i, ev := range events {
		m.Events[i] = auditEventModel{
			ID: types.StringValue(ev.ID), Time: timeValue(ev.Time), Action: types.StringValue(ev.Action),
			ActorType: types.StringValue(ev.Actor.Type), ActorID: types.StringValue(ev.Actor.ID),
			TokenID: optString(ev.TokenID), FleetID: optString(ev.FleetID), RequestID: types.StringValue(ev.RequestID),
			SourceIP: types.StringValue(ev.SourceIP), UserAgent: types.StringValue(ev.UserAgent), StatusCode: types.Int64Value(int64(ev.StatusCode)),
		}
	}
	m.Truncated = types.BoolValue(truncated)
	m.LatestTime = timetypes.NewRFC3339Null()
	if len(events) > 0 {
		m.LatestTime = timeValue(events[0].Time)
	}
	m.ID = types.StringValue(hashOf(q, m.MaxResults.ValueInt64()))
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

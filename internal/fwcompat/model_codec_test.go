package fwcompat

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// sampleToken is a fleet token's state as Create leaves it.
func sampleToken() fleetModel {
	created := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var m fleetModel
	m.FleetID = types.StringValue("fleet-1")
	m.ID = types.StringValue("0b8c7a4e-4f7e-4c3a-9d1e-2f3a4b5c6d7e")
	m.Name = types.StringValue("ci")
	m.Scopes = types.SetValueMust(types.StringType, []attr.Value{types.StringValue("machines:read")})
	m.Expiry = types.StringValue("90d")
	m.RotateBefore = types.StringNull()
	m.Triggers = types.MapNull(types.StringType)
	m.GracePeriod = types.StringValue("0s")
	m.Secret = types.StringValue("not-a-secret")
	m.KeyPrefix = types.StringValue("not-a-secre")
	m.CreatedAt = timetypes.NewRFC3339TimeValue(created)
	m.ExpiresAt = timetypes.NewRFC3339TimeValue(created.Add(90 * 24 * time.Hour))
	m.LastUsedAt = timetypes.NewRFC3339Null()
	m.RevokedAt = timetypes.NewRFC3339Null()
	m.Status = types.StringValue("active")
	m.Delivery = types.ObjectNull(deliveryAttrTypes)
	m.SecretSHA256 = types.StringNull()
	m.SecretSentAt = timetypes.NewRFC3339Null()
	m.Timeouts.Object = types.ObjectNull(testSchema().Blocks["timeouts"].Type().(attr.TypeWithAttributeTypes).AttributeTypes()) //nolint:forcetypeassert // test
	return m
}

func emptyState() tfsdk.State {
	s := testSchema()
	return tfsdk.State{Schema: s, Raw: tftypes.NewValue(s.Type().TerraformType(context.Background()), nil)}
}

// SetModel writes exactly what the framework's Set writes, and GetModel
// reads back exactly what the framework's Get reads.
func TestModelCodec_matchesTheFramework(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := sampleToken()
	// Else both sides would be the framework's.
	if l := layoutOf(reflect.TypeFor[fleetModel]()); len(l) != len(testSchema().Attributes)+len(testSchema().Blocks) {
		t.Fatalf("the codec maps %d fields of fleetModel, want all %d of the schema's: it would hand it to the framework",
			len(l), len(testSchema().Attributes)+len(testSchema().Blocks))
	}

	want, got := emptyState(), emptyState()
	if ds := want.Set(ctx, &m); ds.HasError() {
		t.Fatal(ds)
	}
	if ds := SetModel(ctx, &got, &m); ds.HasError() {
		t.Fatal(ds)
	}
	if !got.Raw.Equal(want.Raw) {
		t.Fatalf("SetModel wrote\n%s\nthe framework writes\n%s", got.Raw, want.Raw)
	}

	var viaFramework, viaCodec fleetModel
	if ds := want.Get(ctx, &viaFramework); ds.HasError() {
		t.Fatal(ds)
	}
	if ds := GetModel(ctx, want, &viaCodec); ds.HasError() {
		t.Fatal(ds)
	}
	if !reflect.DeepEqual(viaFramework, viaCodec) {
		t.Errorf("GetModel read\n%+v\nthe framework reads\n%+v", viaCodec, viaFramework)
	}
	if !viaCodec.CreatedAt.Equal(m.CreatedAt) || !viaCodec.Scopes.Equal(m.Scopes) {
		t.Errorf("round trip lost values: %v", viaCodec)
	}
}

// Whatever the framework refuses, the codec refuses with the same
// diagnostics: a model that does not fit the schema, a value of the wrong
// type, an invalid timestamp.
func TestModelCodec_errorsAsTheFramework(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	full := emptyState()
	m := sampleToken()
	if ds := full.Set(ctx, &m); ds.HasError() {
		t.Fatal(ds)
	}

	t.Run("get into a model without fleet_id", func(t *testing.T) {
		var a, b ownerModel
		want, got := full.Get(ctx, &a), GetModel(ctx, full, &b)
		if !want.HasError() || !got.Equal(want) {
			t.Errorf("got %v, want the framework's %v", got, want)
		}
	})
	t.Run("set a set without element type", func(t *testing.T) {
		bad := sampleToken()
		bad.Scopes = types.Set{}
		w, g := emptyState(), emptyState()
		want, got := w.Set(ctx, &bad), SetModel(ctx, &g, &bad)
		if !got.Equal(want) || !g.Raw.Equal(w.Raw) {
			t.Errorf("got %v, want the framework's %v", got, want)
		}
	})
	t.Run("set an invalid timestamp", func(t *testing.T) {
		bad := sampleToken()
		bad.ExpiresAt = timetypes.RFC3339{StringValue: types.StringValue("not a time")}
		w, g := emptyState(), emptyState()
		want, got := w.Set(ctx, &bad), SetModel(ctx, &g, &bad)
		if !want.HasError() || !got.Equal(want) {
			t.Errorf("got %v, want the framework's %v", got, want)
		}
	})
	t.Run("get an invalid timestamp", func(t *testing.T) {
		st := emptyState()
		raw := map[string]tftypes.Value{}
		if err := full.Raw.As(&raw); err != nil {
			t.Fatal(err)
		}
		raw["created_at"] = tftypes.NewValue(tftypes.String, "yesterday")
		st.Raw = tftypes.NewValue(full.Raw.Type(), raw)
		var a, b fleetModel
		want, got := st.Get(ctx, &a), GetModel(ctx, st, &b)
		if !want.HasError() || !got.Equal(want) {
			t.Errorf("got %v, want the framework's %v", got, want)
		}
	})
	t.Run("get a null state", func(t *testing.T) {
		var a, b fleetModel
		st := emptyState()
		want, got := st.Get(ctx, &a), GetModel(ctx, st, &b)
		if !got.Equal(want) {
			t.Errorf("got %v, want the framework's %v", got, want)
		}
	})
}

func BenchmarkModelGet(b *testing.B) {
	ctx := b.Context()
	st := emptyState()
	m := sampleToken()
	if ds := st.Set(ctx, &m); ds.HasError() {
		b.Fatal(ds)
	}
	b.Run("framework", func(b *testing.B) {
		for b.Loop() {
			var out fleetModel
			st.Get(ctx, &out)
		}
	})
	b.Run("codec", func(b *testing.B) {
		for b.Loop() {
			var out fleetModel
			GetModel(ctx, st, &out)
		}
	})
}

func BenchmarkModelSet(b *testing.B) {
	ctx := b.Context()
	m := sampleToken()
	b.Run("framework", func(b *testing.B) {
		for b.Loop() {
			st := emptyState()
			st.Set(ctx, &m)
		}
	})
	b.Run("codec", func(b *testing.B) {
		for b.Loop() {
			st := emptyState()
			SetModel(ctx, &st, &m)
		}
	})
}

func TestSameValues(t *testing.T) {
	t.Parallel()
	a := sampleToken()
	full := eitherModel{FleetID: a.FleetID, OwnerID: types.StringNull(), commonModel: a.commonModel}
	same := full
	if !SameValues(&full, &same) {
		t.Error("a copy differs from its original")
	}
	for name, change := range map[string]func(*eitherModel){
		"fleet_id (outside the embedded struct)": func(m *eitherModel) { m.FleetID = types.StringUnknown() },
		"status":                                 func(m *eitherModel) { m.Status = types.StringValue("revoked") },
		"expires_at, to unknown":                 func(m *eitherModel) { m.ExpiresAt = timetypes.NewRFC3339Unknown() },
		"scopes":                                 func(m *eitherModel) { m.Scopes = types.SetValueMust(types.StringType, nil) },
		"last_used_at, null to time":             func(m *eitherModel) { m.LastUsedAt = m.CreatedAt },
	} {
		other := full
		change(&other)
		if SameValues(&full, &other) {
			t.Errorf("a change of %s went unnoticed", name)
		}
	}
}

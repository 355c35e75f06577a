package fwcompat

// Reading and writing models without the framework's per-call reflection.
//
// tfsdk.State.Get and Set into a struct (terraform-plugin-framework v1.19.0,
// internal/reflect) walk the struct's fields on every call, and for each
// field compile a regular expression (helpers.go, isValidFieldName calls
// regexp.MustCompile). In a no-op plan of 1,000 tokens that was 13% of the
// provider's CPU (bench/README.md, "Provider CPU"). GetModel and SetModel
// do the same conversions with the field layout worked out once per model
// type: they decode into, and encode from, the schema's object value, and
// apply the same checks as the framework (each value's type, and
// xattr.ValidateableAttribute). Whenever a model and the data disagree in
// any way, they hand over to the framework's Get or Set, so that errors
// read exactly as before.
//
// What they rely on in the framework, to be checked at each new version
// (framework_version_test.go): Get and Set of a struct map its tfsdk-tagged
// fields, promoted ones included, one to one onto the schema's attributes
// and blocks; a field that is an attr.Value gets the value as it is, of
// exactly the schema's type; and the only check on a value beyond its type
// is xattr.ValidateableAttribute. TestModelCodec_matchesTheFramework and
// TestModelCodec_errorsAsTheFramework compare the two; BenchmarkModelGet and
// BenchmarkModelSet say whether the codec still pays.

import (
	"context"
	"reflect"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/attr/xattr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// modelField is one tfsdk-tagged field of a model struct.
type modelField struct {
	name  string
	index []int
}

var modelLayouts sync.Map // reflect.Type -> []modelField, or nil if unsupported

var attrValueType = reflect.TypeFor[attr.Value]()

// layoutOf lists t's tfsdk fields, promoted ones included, if every one of
// them is an attr.Value (nil otherwise: the framework handles such models).
func layoutOf(t reflect.Type) []modelField {
	if l, ok := modelLayouts.Load(t); ok {
		return l.([]modelField) //nolint:forcetypeassert // only []modelField is stored
	}
	var fields []modelField
	for _, f := range reflect.VisibleFields(t) {
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			continue // its fields are visited on their own
		}
		name := f.Tag.Get("tfsdk")
		if name == "" || name == "-" || !f.IsExported() || !f.Type.Implements(attrValueType) {
			fields = nil
			break
		}
		fields = append(fields, modelField{name: name, index: f.Index})
	}
	modelLayouts.Store(t, fields)
	return fields
}

// structOf returns the struct target points at, and its layout.
func structOf(target any) (reflect.Value, []modelField) {
	v := reflect.ValueOf(target)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, nil
	}
	return v.Elem(), layoutOf(v.Elem().Type())
}

func validate(ctx context.Context, name string, v attr.Value) diag.Diagnostics {
	va, ok := v.(xattr.ValidateableAttribute)
	if !ok {
		return nil
	}
	var resp xattr.ValidateAttributeResponse
	va.ValidateAttribute(ctx, xattr.ValidateAttributeRequest{Path: path.Root(name)}, &resp)
	return resp.Diagnostics
}

// Getter is satisfied by tfsdk.Config, tfsdk.Plan and tfsdk.State.
type Getter interface {
	Get(ctx context.Context, target any) diag.Diagnostics
}

// Setter is satisfied by *tfsdk.Plan and *tfsdk.State.
type Setter interface {
	Set(ctx context.Context, val any) diag.Diagnostics
}

// GetModel is src.Get(ctx, target) for a pointer to a model struct.
func GetModel(ctx context.Context, src Getter, target any) diag.Diagnostics {
	v, fields := structOf(target)
	if fields == nil {
		return src.Get(ctx, target)
	}
	var obj types.Object
	diags := src.Get(ctx, &obj)
	if diags.HasError() || obj.IsNull() || obj.IsUnknown() {
		return src.Get(ctx, target)
	}
	attrs := obj.Attributes()
	if len(attrs) != len(fields) {
		return src.Get(ctx, target)
	}
	for _, f := range fields {
		a, ok := attrs[f.name]
		if !ok || a == nil {
			return src.Get(ctx, target)
		}
		fv := v.FieldByIndex(f.index)
		av := reflect.ValueOf(a)
		if av.Type() != fv.Type() {
			return src.Get(ctx, target)
		}
		if diags.Append(validate(ctx, f.name, a)...); diags.HasError() {
			return diags
		}
		fv.Set(av)
	}
	return diags
}

// SetModel is dst.Set(ctx, source) for a pointer to a model struct; it
// saves the framework's reflection when dst is a *tfsdk.State or
// *tfsdk.Plan.
func SetModel(ctx context.Context, dst Setter, source any) diag.Diagnostics {
	v, fields := structOf(source)
	var typ attr.Type
	switch d := dst.(type) {
	case *tfsdk.State:
		typ = d.Schema.Type()
	case *tfsdk.Plan:
		typ = d.Schema.Type()
	}
	objType, ok := typ.(attr.TypeWithAttributeTypes)
	if fields == nil || !ok || len(objType.AttributeTypes()) != len(fields) {
		return dst.Set(ctx, source)
	}
	attrTypes := objType.AttributeTypes()
	vals := make(map[string]tftypes.Value, len(fields))
	var diags diag.Diagnostics
	for _, f := range fields {
		at, ok := attrTypes[f.name]
		a, isValue := v.FieldByIndex(f.index).Interface().(attr.Value)
		if !ok || !isValue || !at.TerraformType(ctx).Equal(a.Type(ctx).TerraformType(ctx)) {
			return dst.Set(ctx, source)
		}
		if diags.Append(validate(ctx, f.name, a)...); diags.HasError() {
			return diags
		}
		tv, err := a.ToTerraformValue(ctx)
		if err != nil {
			return dst.Set(ctx, source)
		}
		vals[f.name] = tv
	}
	objTF := typ.TerraformType(ctx)
	if err := tftypes.ValidateValue(objTF, vals); err != nil {
		return dst.Set(ctx, source)
	}
	return append(diags, dst.Set(ctx, tftypes.NewValue(objTF, vals))...)
}

var valueFields sync.Map // reflect.Type -> [][]int: the attr.Value fields, promoted ones included

// SameValues reports whether a and b hold equal values (attr.Value.Equal)
// in every attr.Value field, so that writing a where b was read would
// change nothing.
func SameValues[T any](a, b *T) bool {
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	var fields [][]int
	if f, ok := valueFields.Load(va.Type()); ok {
		fields = f.([][]int) //nolint:forcetypeassert // only [][]int is stored
	} else {
		for _, f := range reflect.VisibleFields(va.Type()) {
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				continue
			}
			if !f.Type.Implements(attrValueType) {
				return reflect.DeepEqual(*a, *b) // not a plain model
			}
			fields = append(fields, f.Index)
		}
		valueFields.Store(va.Type(), fields)
	}
	for _, idx := range fields {
		x, _ := va.FieldByIndex(idx).Interface().(attr.Value)
		y, _ := vb.FieldByIndex(idx).Interface().(attr.Value)
		if !x.Equal(y) {
			return false
		}
	}
	return true
}

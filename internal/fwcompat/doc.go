// Package fwcompat holds the provider's workarounds for
// terraform-plugin-framework v1.19.0, kept apart from the provider so that
// each can be checked, and dropped, on its own when the framework changes:
//
//   - context release (context_release.go): Serve and NewProtocol6WithError
//     serve a provider as providerserver does, but let the framework drop
//     the context of every finished request, which v1.19.0 keeps for the
//     life of the process;
//   - the model codec (model_codec.go): GetModel, SetModel and SameValues
//     read and write model structs without the framework's per-call
//     reflection.
//
// Each was written against v1.19.0 and says what it relies on. The tests
// fail when the framework the provider builds with (go.mod, and
// bench/go.mod) is another version, and say what to re-check before the
// version in framework_version_test.go moves with it.
package fwcompat

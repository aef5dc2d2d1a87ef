package kubernetes

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// JSON schemas for kubeconform, generated from the k8s.io/api Go types
// (the published Kubernetes JSON schemas cannot be downloaded here).
//
// The rules are those of Kubernetes' own openapi-gen: properties from the
// json tags (inline structs merged), a field without omitempty is required,
// pointers may be null, maps are objects of their value schema. Every object
// rejects unknown properties (kubeconform's strict schemas do the same).
// Types with their own JSON form get it: Quantity (string or number),
// IntOrString (string or integer), Time (string or null); other custom
// marshalers accept anything. Enums and formats are not checked here; the
// chart test checks the values that matter.

var (
	quantityType    = reflect.TypeFor[resource.Quantity]()
	intOrStringType = reflect.TypeFor[intstr.IntOrString]()
	timeType        = reflect.TypeFor[metav1.Time]()
	microTimeType   = reflect.TypeFor[metav1.MicroTime]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

type schemaGen struct {
	defs map[string]any // definitions by Go type name
}

// documentSchema is the schema of one top-level object of type t.
func documentSchema(t reflect.Type) map[string]any {
	g := &schemaGen{defs: map[string]any{}}
	root := g.schema(t)
	return map[string]any{
		"$schema":     "http://json-schema.org/draft-07/schema#",
		"description": "generated from the Go type " + t.PkgPath() + "." + t.Name(),
		"allOf":       []any{root},
		"definitions": g.defs,
	}
}

func defName(t reflect.Type) string {
	return strings.NewReplacer("/", ".", "k8s.io.", "").Replace(t.PkgPath()) + "." + t.Name()
}

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	switch t {
	case quantityType:
		return map[string]any{"type": []any{"string", "number"}}
	case intOrStringType:
		return map[string]any{"type": []any{"string", "integer"}}
	case timeType, microTimeType:
		return map[string]any{"type": []any{"string", "null"}}
	}
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(unmarshalerType) {
		return map[string]any{} // its own JSON form: not checked
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := g.schema(t.Elem())
		return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": []any{"string", "null"}} // base64
		}
		return map[string]any{"type": []any{"array", "null"}, "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": []any{"object", "null"}, "additionalProperties": g.schema(t.Elem())}
	case reflect.Struct:
		name := defName(t)
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = map[string]any{} // placeholder: recursive types
			props, required := map[string]any{}, []any{}
			g.fields(t, props, &required)
			def := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
			if len(required) > 0 {
				def["required"] = required
			}
			g.defs[name] = def
		}
		return map[string]any{"$ref": "#/definitions/" + name}
	case reflect.Interface:
		return map[string]any{}
	}
	panic("schema: unsupported kind " + t.Kind().String() + " of " + t.String())
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]any) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) {
			g.fields(f.Type, props, required)
			continue
		}
		if strings.Contains(","+opts+",", ",inline,") {
			g.fields(f.Type, props, required)
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.schema(f.Type)
		if !strings.Contains(","+opts+",", ",omitempty,") && !strings.Contains(","+opts+",", ",omitzero,") {
			*required = append(*required, name)
		}
	}
}

// writeSchemas writes one schema file per kind in kubeconform's layout
// ({{ .ResourceKind }}{{ .KindSuffix }}.json) and returns the location
// template.
func writeSchemas(t *testing.T, dir string) string {
	t.Helper()
	for _, k := range kinds {
		typ := reflect.TypeOf(k.obj()).Elem()
		b, err := json.MarshalIndent(documentSchema(typ), "", " ")
		if err != nil {
			t.Fatal(err)
		}
		group, version, ok := strings.Cut(k.apiVersion, "/")
		suffix := "-" + group
		if ok {
			suffix = "-" + strings.Split(group, ".")[0] + "-" + version
		}
		if err := os.WriteFile(filepath.Join(dir, strings.ToLower(k.kind)+suffix+".json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "{{ .ResourceKind }}{{ .KindSuffix }}.json")
}

// TestWriteSchemas writes the schemas into $SCHEMA_DIR for the kubeconform
// binary (into a temporary directory when unset, so the writer is always
// exercised):
//
//	SCHEMA_DIR=/tmp/k8s-schemas go test -run TestWriteSchemas .
//	kubeconform -strict -summary -schema-location '/tmp/k8s-schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json' manifests/otelcol-ebpf.yaml
func TestWriteSchemas(t *testing.T) {
	dir := os.Getenv("SCHEMA_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Log(writeSchemas(t, dir))
}

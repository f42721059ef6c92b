package observation

import (
	"reflect"
	"slices"
	"testing"
)

// TestEveryFieldHasOneColumn: nothing an Observation holds is left out of the table (and so
// out of the store), and no field is named by two columns.
func TestEveryFieldHasOneColumn(t *testing.T) {
	var o Observation
	v := reflect.ValueOf(&o).Elem()
	byAddr := map[uintptr]string{}
	for i := range v.NumField() {
		byAddr[v.Field(i).Addr().Pointer()] = v.Type().Field(i).Name
	}
	covered := map[string]string{}
	for _, c := range Columns {
		p := reflect.ValueOf(c.Field(&o))
		if p.Kind() != reflect.Pointer {
			t.Fatalf("column %s: Field gives %s, want a pointer", c.Name, p.Kind())
		}
		name, ok := byAddr[p.Pointer()]
		if !ok {
			t.Errorf("column %s points at no field of Observation", c.Name)
			continue
		}
		if prev, dup := covered[name]; dup {
			t.Errorf("field %s is named by columns %s and %s", name, prev, c.Name)
		}
		covered[name] = c.Name
	}
	for _, name := range byAddr {
		if _, ok := covered[name]; !ok {
			t.Errorf("field %s has no column: the store would drop it", name)
		}
	}
	names := ColumnNames()
	if len(slices.Compact(slices.Sorted(slices.Values(names)))) != len(names) {
		t.Errorf("column names repeat: %v", names)
	}
}

func TestDetected(t *testing.T) {
	for _, o := range Outcomes {
		if got := o.Detected(); got != (o == OpenClaw) {
			t.Errorf("%s.Detected() = %v", o, got)
		}
	}
}

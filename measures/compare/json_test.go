package compare

import (
	"encoding/json"
	"reflect"
	"sort"
	"testing"
)

// keys returns the sorted keys of a JSON object.
func keys(t *testing.T, v any, where string) []string {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: %T, want an object", where, v)
	}
	var k []string
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}

// hasKeys reports the keys of want missing from the JSON object v.
func hasKeys(t *testing.T, v any, where string, want ...string) {
	t.Helper()
	got := map[string]bool{}
	for _, k := range keys(t, v, where) {
		got[k] = true
	}
	for _, k := range want {
		if !got[k] {
			t.Errorf("%s: no key %q (has %v)", where, k, keys(t, v, where))
		}
	}
}

// TestJSONShape checks the analysis JSON's "adjusted" and
// "relapse.cox_adjusted" keys against the shapes of the specification's
// section 7.
func TestJSONShape(t *testing.T) {
	in := cohortInput(t)
	b, err := json.Marshal(map[string]any{"adjusted": Adjust(in), "cox_adjusted": RelapseAdjusted(in)})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	adj := doc["adjusted"].(map[string]any)
	hasKeys(t, adj, "adjusted", "covariates", "change", "response", "slope")
	if got, want := adj["covariates"], []any{"baseline", "age", "sex=male", "sex=other", "diagnosis=anxiety",
		"diagnosis=bipolar", "diagnosis=other", "diagnosis=ptsd", "prior_treatments"}; !reflect.DeepEqual(got, want) {
		t.Errorf("covariates %v, want %v", got, want)
	}
	for _, model := range []string{"change", "response", "slope"} {
		m := adj[model].(map[string]any)
		if got := keys(t, m, model); !reflect.DeepEqual(got, []string{"integration", "program", "route", "setting"}) {
			t.Errorf("%s: dimensions %v", model, got)
		}
		for dim, v := range m {
			where := model + "." + dim
			hasKeys(t, v, where, "reference", "n", "excluded", "terms")
			terms := v.(map[string]any)["terms"].([]any)
			if len(terms) == 0 {
				t.Errorf("%s: no terms", where)
				continue
			}
			switch model {
			case "response":
				hasKeys(t, terms[0], where+".terms[0]", "level", "odds_ratio", "lower95", "upper95", "p")
				hasKeys(t, v, where, "unadjusted")
			case "change":
				hasKeys(t, terms[0], where+".terms[0]", "level", "estimate", "se", "lower95", "upper95", "p")
				hasKeys(t, v, where, "unadjusted")
				u := v.(map[string]any)["unadjusted"].([]any)
				hasKeys(t, u[0], where+".unadjusted[0]", "level", "estimate", "se", "lower95", "upper95", "p")
			default:
				hasKeys(t, terms[0], where+".terms[0]", "level", "estimate", "se", "lower95", "upper95", "p")
			}
		}
	}
	cox := doc["cox_adjusted"]
	hasKeys(t, cox, "cox_adjusted", "n", "events", "terms")
	terms := cox.(map[string]any)["terms"].([]any)
	hasKeys(t, terms[0], "cox_adjusted.terms[0]", "term", "coef", "se", "hazard_ratio", "p")
	var names []any
	for _, tm := range terms {
		names = append(names, tm.(map[string]any)["term"])
	}
	if want := []any{"program=infusion", "baseline", "maintenance", "age", "sex=male", "sex=other", "diagnosis=anxiety",
		"diagnosis=bipolar", "diagnosis=other", "diagnosis=ptsd", "prior_treatments"}; !reflect.DeepEqual(names, want) {
		t.Errorf("cox terms %v, want %v", names, want)
	}
}

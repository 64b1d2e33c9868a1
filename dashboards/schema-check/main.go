// Command schema-check decodes Grafana dashboards strictly with Grafana's own published Go models
// (github.com/grafana/grafana-foundation-sdk/go, pinned in go.mod), since no Grafana server can run
// where the tests do. An unknown field or a wrong type anywhere in a dashboard is a problem.
//
//	schema-check [FILE...]    (no FILE, or "-": stdin)
//
// Each input holds one dashboard JSON object or an array of them. One line per problem:
//
//	<dashboard uid> | <panel title, or "-" for the dashboard itself> | <path> | <reason>
//
// Exit 0 when every dashboard decodes and validates, 1 on any problem, 2 on a usage or read error.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

type problem struct{ uid, panel, path, reason string }

func main() {
	// Without the plugins registered, panel options and fieldConfig.defaults.custom are decoded as
	// free-form maps: the per-panel-type (geomap, stat, ...) strict decoders come from here.
	plugins.RegisterDefaultPlugins()

	inputs := os.Args[1:]
	if len(inputs) == 0 {
		inputs = []string{"-"}
	}
	var all []problem
	for _, name := range inputs {
		raw, err := read(name)
		if err != nil {
			fmt.Fprintf(os.Stderr, "schema-check: %s: %v\n", name, err)
			os.Exit(2)
		}
		all = append(all, checkInput(name, raw)...)
	}
	for _, p := range all {
		fmt.Printf("%s | %s | %s | %s\n", p.uid, p.panel, p.path, p.reason)
	}
	if len(all) > 0 {
		os.Exit(1)
	}
}

func read(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(name)
}

// checkInput accepts one dashboard object or an array of them.
func checkInput(name string, raw []byte) []problem {
	trimmed := strings.TrimSpace(string(raw))
	if strings.HasPrefix(trimmed, "[") {
		var boards []json.RawMessage
		if err := json.Unmarshal(raw, &boards); err != nil {
			return []problem{{name, "-", "", err.Error()}}
		}
		var out []problem
		for _, b := range boards {
			out = append(out, checkDashboard(name, b)...)
		}
		return out
	}
	return checkDashboard(name, raw)
}

// checkDashboard decodes the dashboard without its panels, then every panel on its own, so each
// problem names its panel (and a failing panel cannot hide the others).
func checkDashboard(name string, raw []byte) []problem {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return []problem{{name, "-", "", err.Error()}}
	}
	uid := name
	if u, ok := fields["uid"]; ok {
		_ = json.Unmarshal(u, &uid)
	}
	var panels []json.RawMessage
	if p, ok := fields["panels"]; ok {
		if err := json.Unmarshal(p, &panels); err != nil {
			return []problem{{uid, "-", "panels", err.Error()}}
		}
		fields["panels"] = json.RawMessage("[]")
	}
	rest, _ := json.Marshal(fields)

	var out []problem
	var board dashboard.Dashboard
	out = append(out, problems(uid, "-", board.UnmarshalJSONStrict(rest))...)
	out = append(out, problems(uid, "-", board.Validate())...)
	for i, p := range panels {
		out = append(out, checkPanel(uid, fmt.Sprintf("panels[%d]", i), p)...)
	}
	return out
}

// checkPanel decodes one panel (a row's panels each on their own) strictly and validates it.
func checkPanel(uid, at string, raw json.RawMessage) []problem {
	var head struct {
		Type        string            `json:"type"`
		Title       string            `json:"title"`
		Panels      []json.RawMessage `json:"panels"`
		FieldConfig json.RawMessage   `json:"fieldConfig"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return []problem{{uid, at, at, err.Error()}}
	}
	title := head.Title
	if title == "" {
		title = at
	}
	if head.Type == "row" {
		var fields map[string]json.RawMessage
		_ = json.Unmarshal(raw, &fields)
		fields["panels"] = json.RawMessage("[]")
		rest, _ := json.Marshal(fields)
		var row dashboard.RowPanel
		out := problems(uid, title, row.UnmarshalJSONStrict(rest))
		out = append(out, problems(uid, title, row.Validate())...)
		for i, p := range head.Panels {
			out = append(out, checkPanel(uid, fmt.Sprintf("%s.panels[%d]", at, i), p)...)
		}
		return out
	}
	var panel dashboard.Panel
	out := problems(uid, title, panel.UnmarshalJSONStrict(raw))
	out = append(out, problems(uid, title, panel.Validate())...)
	// The SDK's Panel decodes fieldConfig leniently (plain json.Unmarshal; only defaults.custom
	// goes through the panel type's strict decoder), so a misspelt `defaults.unitt` would pass:
	// decode it once more with the strict FieldConfigSource model.
	if len(head.FieldConfig) > 0 && string(head.FieldConfig) != "null" {
		var fc dashboard.FieldConfigSource
		out = append(out, prefixed("fieldConfig", problems(uid, title, fc.UnmarshalJSONStrict(head.FieldConfig)))...)
		out = append(out, prefixed("fieldConfig", problems(uid, title, fc.Validate()))...)
	}
	return out
}

// problems turns an SDK error into lines. The SDK's decoders and Validate return their
// cog.BuildErrors even when it is empty (a nil slice in a non-nil error), so `err != nil` means
// nothing: count the entries.
func problems(uid, panel string, err error) []problem {
	if err == nil {
		return nil
	}
	var list cog.BuildErrors
	if !errors.As(err, &list) {
		var one *cog.BuildError
		if errors.As(err, &one) {
			list = cog.BuildErrors{one}
		} else {
			return []problem{{uid, panel, "", err.Error()}}
		}
	}
	out := make([]problem, 0, len(list))
	for _, e := range list {
		out = append(out, problem{uid, panel, e.Path, e.Message})
	}
	return out
}

func prefixed(prefix string, list []problem) []problem {
	for i := range list {
		if list[i].path == "" {
			list[i].path = prefix
		} else {
			list[i].path = prefix + "." + list[i].path
		}
	}
	return list
}

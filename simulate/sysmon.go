package simulate

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// SysmonProcessCreation returns realistic Sysmon EID 1 process-creation
// events (their event data fields), mostly benign as in production, a few
// suspicious (an LSASS dump through comsvcs.dll, an encoded PowerShell
// started by Word). The engine's SigmaHQ benchmarks and the `rules eval`
// whole-process measurement share them.
func SysmonProcessCreation() []map[string]string {
	return []map[string]string{
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

}

// WriteSysmon writes n Sysmon EID 1 events as JSON lines, cycling through
// SysmonProcessCreation with distinct times (10 ms apart from start),
// process IDs, GUIDs and hosts, as a Windows log shipper would.
func WriteSysmon(w io.Writer, n int, start time.Time) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	samples := SysmonProcessCreation()
	for i := range n {
		s := samples[i%len(samples)]
		doc := make(map[string]any, len(s)+5)
		for k, v := range s {
			doc[k] = v
		}
		doc["EventID"] = 1
		doc["UtcTime"] = start.Add(time.Duration(i) * 10 * time.Millisecond).UTC().Format("2006-01-02 15:04:05.000")
		doc["ProcessId"] = 1000 + i%60000
		doc["Computer"] = fmt.Sprintf("ws%03d.corp.example", i%250)
		doc["ProcessGuid"] = fmt.Sprintf("{4c3a1e2b-%04x-%04x-0000-00100000%04x}", i>>16, i&0xffff, i%997)
		if err := enc.Encode(doc); err != nil {
			return fmt.Errorf("sysmon event %d: %w", i, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("sysmon events: %w", err)
	}
	return nil
}
